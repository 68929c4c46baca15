// `fota build upload`: a manufacturer (or its CI) streams a firmware image to the server,
// then waits for the signed packages and prints what devices will download. The image is
// read as it is sent, so a 2 GB build needs no more memory than a small one.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { z } from 'zod';
import { type BuildView, buildViewSchema, nameSchema } from '../builds/schemas.ts';
import { encodeStatementHeader, TARGET_STATEMENT_HEADER } from '../builds/statement-header.ts';
import { MAX_SIGNED_DOCUMENT_BYTES } from '../signing/signed-document.ts';
import { parseTargetStatement, type TargetEnvelope } from '../signing/target-statement.ts';
import { AppError } from '../errors.ts';
import { statInputFile } from '../files.ts';
import { percent } from '../format.ts';
import { callServer, type Client, clientFrom, serverHelp, serverOptions } from './client.ts';
import { ExitCode, formatBytes, integerOption, type Output, parseOptions, required, UsageError } from './io.ts';
import { ProgressLine } from './progress.ts';

const DEFAULT_TIMEOUT_S = 1800;

export const buildHelp = `Usage: fota build upload FILE --model M --version V [--security-version N]
                         [--statement FILE.target.json]
                         [--no-wait] [--timeout SECONDS] [--server URL] [--token T]

Streams FILE to the server as build V of model M (needs a manufacturer token), showing
progress on stderr, and prints "id: <build id>". Then it waits until the server has made
the signed packages (a full image, and a delta from each recent earlier build) and lists
them: kind, versions, size and the share of the full image a device downloads.

  --security-version N   devices refuse packages below their own security version (0;
                         with --statement, the statement's)
  --statement FILE       the manufacturer's offline target statement for FILE (fota build
                         sign); required when the manufacturer requires offline signing.
                         Every package made from the build carries it (formatVersion 2)
  --no-wait              print the build id and exit without waiting
  --timeout SECONDS      how long to wait for the packages (${DEFAULT_TIMEOUT_S})

${serverHelp}
Exit codes: 0 packages ready (or uploaded, with --no-wait), 1 refused by the server, the
build failed, or still not ready at --timeout, 2 usage error, unreadable FILE or server
unreachable.
`;

export const buildUsage = `Usage: fota build COMMAND ...   (fota build COMMAND --help for details)

  sign IMAGE --key KEY.json ...          offline: the manufacturer's target statement
  upload FILE --model M --version V      stream an image, wait for its packages
  list [--model M] [--version V]         builds, newest first (--limit, --cursor, --all, --json)
  show BLD                               a build and its packages
  status BLD                             whether its packages are ready
  download BLD [--from VERSION] [--out FILE]
                                         one of its packages as a .fota file
`;

const uploadedSchema = z.object({ id: z.string(), status: z.string(), jobs: z.number() });

export async function buildCommand(args: string[], io: Output): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'sign') return (await import('./build-sign.ts')).buildSignCommand(rest, io);
  if (sub === 'list' || sub === 'show' || sub === 'status' || sub === 'download') return (await import('./build-read.ts')).buildReadCommand(sub, rest, io);
  if (sub !== 'upload') throw new UsageError(sub ? `unknown command: build ${sub} (sign, upload, list, show, status or download)` : 'missing command: build sign|upload|list|show|status|download');
  const { values, positionals } = parseOptions(
    rest,
    {
      model: { type: 'string' },
      version: { type: 'string' },
      'security-version': { type: 'string' },
      statement: { type: 'string' },
      'no-wait': { type: 'boolean' },
      timeout: { type: 'string' },
      ...serverOptions,
    },
    1,
  );
  if (values.help) return io.out(buildHelp), ExitCode.Ok;
  const path = required(positionals[0], 'the image FILE (fota build upload FILE --model M --version V)');
  const model = nameOption(required(values.model, '--model M'), '--model');
  const version = nameOption(required(values.version, '--version V'), '--version');
  const statement = values.statement === undefined ? undefined : await readStatement(values.statement, { model, version });
  const securityVersion = integerOption(values['security-version'], '--security-version') ?? statement?.signed.securityVersion;
  const timeoutSeconds = integerOption(values.timeout, '--timeout', 1) ?? DEFAULT_TIMEOUT_S;
  const client = clientFrom(values);
  const { size } = await statInputFile(path, 'image');
  if (size === 0) throw new AppError('VALIDATION', `image ${path} is empty`);

  const progress = new ProgressLine(io);
  try {
    const query = new URLSearchParams({ model, version, ...(securityVersion === undefined ? {} : { securityVersion: String(securityVersion) }) });
    const headers: Record<string, string> = statement ? { [TARGET_STATEMENT_HEADER]: encodeStatementHeader(statement) } : {};
    const uploaded = await sendImage(client, `/api/v1/builds?${query}`, path, size, progress, io, headers);
    io.out(`id: ${uploaded.id}\n`);
    if (values['no-wait']) {
      io.err(`not waiting for its ${uploaded.jobs} package(s); see GET /api/v1/builds/${uploaded.id}\n`);
      return ExitCode.Ok;
    }
    const build = await waitForBuild(client, uploaded.id, uploaded.jobs, timeoutSeconds, progress);
    progress.done();
    if (build.status === 'processing') {
      io.err(`fota: build ${build.id} is still processing after ${timeoutSeconds} s (${jobsDone(build)}); wait longer with --timeout, or check GET /api/v1/builds/${build.id}\n`);
      return ExitCode.Rejected;
    }
    if (build.status === 'failed') {
      io.err(`fota: build ${build.id} failed: ${build.failureReason ?? 'the server gave no reason'}\n`);
      return ExitCode.Rejected;
    }
    io.out(summary(build));
    return ExitCode.Ok;
  } finally {
    progress.done();
  }
}

function nameOption(value: string, flag: string): string {
  const parsed = nameSchema.safeParse(value);
  if (!parsed.success) throw new UsageError(`${flag} ${parsed.error.issues[0]?.message ?? 'is invalid'}, got ${JSON.stringify(value)}`);
  return parsed.data;
}

/** The statement file, checked against what is being uploaded before any byte is sent. */
async function readStatement(file: string, expected: { model: string; version: string }): Promise<TargetEnvelope> {
  const { size } = await statInputFile(file, 'target statement');
  if (size > MAX_SIGNED_DOCUMENT_BYTES) throw new AppError('VALIDATION', `target statement ${file} is ${size} bytes; a statement is under ${MAX_SIGNED_DOCUMENT_BYTES / 1024} KiB`);
  const statement = parseTargetStatement(await readFile(file), `target statement ${file}`);
  const s = statement.signed;
  if (s.model !== expected.model || s.version !== expected.version) {
    throw new UsageError(`target statement ${file} is for ${s.model} ${s.version}, not ${expected.model} ${expected.version}`);
  }
  return statement;
}

async function sendImage(client: Client, path: string, file: string, size: number, progress: ProgressLine, io: Output, headers: Record<string, string> = {}) {
  const name = basename(file);
  const started = Date.now();
  let sent = 0;
  let shownAt = 0;
  const rate = () => `${(sent / 1e6 / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(1)} MB/s`;
  const show = () => progress.update(`uploading ${name}: ${Math.floor((100 * sent) / size)}% of ${mb(size)} MB, ${rate()}`, 'uploading');
  const stream = createReadStream(file);
  // Counts bytes as they leave the file; the socket buffers only a little more, so this
  // is what the server has, near enough for a progress line.
  stream.on('data', (chunk) => {
    sent += chunk.length;
    // A terminal redraw per 64 KiB chunk would be thousands of writes a second.
    if (Date.now() - shownAt >= 200 || sent === size) {
      shownAt = Date.now();
      show();
    }
  });
  const uploaded = await callServer(client, 'POST', path, uploadedSchema, { stream, size, contentType: 'application/octet-stream', headers });
  // A line that stays, on a terminal too: the progress line is about to show the jobs.
  progress.done();
  io.err(`uploaded ${name}: ${mb(size)} MB in ${((Date.now() - started) / 1000).toFixed(1)} s, ${rate()}\n`);
  return uploaded;
}

/** Polls the build until it is ready or failed, or returns it still processing at the deadline. */
async function waitForBuild(client: Client, id: string, jobs: number, timeoutSeconds: number, progress: ProgressLine): Promise<BuildView> {
  const started = Date.now();
  const deadline = started + timeoutSeconds * 1000;
  // Small builds are ready in well under a second; big ones take minutes, so back off.
  let delayMs = 200;
  progress.update(`making packages: 0/${jobs} done`, 'jobs 0');
  for (;;) {
    const build = await callServer(client, 'GET', `/api/v1/builds/${encodeURIComponent(id)}`, buildViewSchema);
    if (build.status !== 'processing' || Date.now() >= deadline) return build;
    const seconds = Math.round((Date.now() - started) / 1000);
    progress.update(`making packages: ${jobsDone(build)}, ${seconds} s`, `jobs ${build.jobs.done}`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(delayMs, Math.max(0, deadline - Date.now()))));
    delayMs = Math.min(2000, delayMs * 1.5);
  }
}

function jobsDone(build: BuildView): string {
  const { queued, running, done, failed } = build.jobs;
  return `${done}/${queued + running + done + failed} done`;
}

function summary(build: BuildView): string {
  const packages = [...build.packages].sort((a, b) => (a.kind === b.kind ? (a.fromVersion ?? '').localeCompare(b.fromVersion ?? '') : a.kind === 'full' ? -1 : 1));
  const rows = packages.map((p) => ({
    kind: p.kind,
    versions: p.fromVersion === null ? p.toVersion : `${p.fromVersion} -> ${p.toVersion}`,
    size: `${formatBytes(p.size)} bytes`,
    // Payload, not file: the envelope would put the full image a hair over 100%.
    share: `${percent(p.payloadSize / Math.max(1, build.size))} of the full image`,
  }));
  const width = (key: 'kind' | 'versions' | 'size') => Math.max(0, ...rows.map((r) => r[key].length));
  const lines = rows.map((r) => `  ${r.kind.padEnd(width('kind'))}  ${r.versions.padEnd(width('versions'))}  ${r.size.padStart(width('size'))}  ${r.share}`);
  const count = `${packages.length} package${packages.length === 1 ? '' : 's'}`;
  return `build ${build.id}: ${build.model} ${build.version} ready, ${count} (image ${formatBytes(build.size)} bytes, sha256 ${build.sha256})\n${lines.join('\n')}\n`;
}

/** Small deltas are the point: show 0.0074%, not 0.0%. */

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
