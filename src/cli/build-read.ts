// `fota build list|show|status|download`: reading builds back from the server. A
// manufacturer token sees its own builds, an operator or admin token all of them.
import { resolve } from 'node:path';
import { type BuildSummary, buildSummarySchema } from '../builds/list.ts';
import { type BuildView, buildViewSchema } from '../builds/schemas.ts';
import { percent } from '../format.ts';
import { callServer, type Client, clientFrom, downloadFile, serverHelp, serverOptions } from './client.ts';
import { ExitCode, formatBytes, type Output, parseOptions, required, UsageError } from './io.ts';
import { type Column, fetchList, pageHelp, pageOptions, printList, shortTime, table } from './pages.ts';

export const buildReadHelp: Record<string, string> = {
  list: `Usage: fota build list [--model M] [--version V] [--limit N] [--cursor C] [--all] [--json]

Builds, newest first: id, model, version, status, image size, when uploaded. A
manufacturer token lists its own manufacturer's builds.

${pageHelp}

${serverHelp}
`,
  show: `Usage: fota build show BLD [--json]

A build: model, version, image hash and size, security version, status (and why it
failed), and its packages: kind, versions, size, share of the full image, package id.

${serverHelp}
`,
  status: `Usage: fota build status BLD [--json]

Whether a build's packages are ready: its status and its package jobs (queued, running,
done, failed). Exit 0 when ready or still processing, 1 when the build failed.

${serverHelp}
`,
  download: `Usage: fota build download BLD [--from VERSION] [--out FILE]

Downloads one package of the build as a .fota file: the full image, or with --from the
delta from VERSION. The bytes are checked against the SHA-256 the server names before
FILE appears (default: the server's name for it, e.g. 1.0-to-1.1.fota).

${serverHelp}
`,
};

export async function buildReadCommand(sub: string, args: string[], io: Output): Promise<number> {
  switch (sub) {
    case 'list':
      return list(args, io);
    case 'show':
    case 'status':
      return show(sub, args, io);
    case 'download':
      return download(args, io);
    default:
      throw new UsageError(`unknown command: build ${sub}`);
  }
}

const buildColumns: Array<Column<BuildSummary>> = [
  { header: 'ID', cell: (b) => b.id },
  { header: 'MODEL', cell: (b) => b.model },
  { header: 'VERSION', cell: (b) => b.version },
  { header: 'STATUS', cell: (b) => b.status },
  { header: 'SIZE', cell: (b) => formatBytes(b.size), align: 'right' },
  { header: 'CREATED', cell: (b) => shortTime(b.createdAt) },
];

async function list(args: string[], io: Output): Promise<number> {
  const { values } = parseOptions(args, { model: { type: 'string' }, version: { type: 'string' }, ...pageOptions, ...serverOptions });
  if (values.help) return io.out(buildReadHelp.list ?? ''), ExitCode.Ok;
  const client = clientFrom(values);
  const listed = await fetchList(client, '/api/v1/builds', { model: values.model, version: values.version }, buildSummarySchema.loose(), values);
  printList(io, listed, buildColumns, values, 'builds');
  return ExitCode.Ok;
}

async function fetchBuild(client: Client, id: string): Promise<BuildView> {
  return callServer(client, 'GET', `/api/v1/builds/${encodeURIComponent(id)}`, buildViewSchema.loose());
}

async function show(sub: 'show' | 'status', args: string[], io: Output): Promise<number> {
  const { values, positionals } = parseOptions(args, { json: { type: 'boolean' }, ...serverOptions }, 1);
  if (values.help) return io.out(buildReadHelp[sub] ?? ''), ExitCode.Ok;
  const id = required(positionals[0], `the build id (fota build ${sub} BLD)`);
  const build = await fetchBuild(clientFrom(values), id);
  if (values.json) {
    const { id: buildId, status, failureReason, jobs, packages } = build;
    io.out(`${JSON.stringify(sub === 'show' ? build : { id: buildId, status, failureReason, jobs, packages: packages.length }, null, 2)}\n`);
  } else {
    io.out(sub === 'show' ? describeBuild(build) : `${statusLine(build)}\n`);
  }
  return build.status === 'failed' && sub === 'status' ? ExitCode.Rejected : ExitCode.Ok;
}

function statusLine(build: BuildView): string {
  const { queued, running, done, failed } = build.jobs;
  const jobs = `package jobs: ${done} done, ${running} running, ${queued} queued, ${failed} failed`;
  const why = build.status === 'failed' ? ` (${build.failureReason ?? 'the server gave no reason'})` : '';
  return `${build.id}: ${build.status}${why}; ${build.packages.length} package${build.packages.length === 1 ? '' : 's'}; ${jobs}`;
}

function describeBuild(build: BuildView): string {
  const fields = [
    ['id', build.id],
    ['model', build.model],
    ['version', build.version],
    ['status', build.status + (build.failureReason ? ` (${build.failureReason})` : '')],
    ['image', `${formatBytes(build.size)} bytes, sha256 ${build.sha256}`],
    ['security version', String(build.securityVersion)],
    ['created', shortTime(build.createdAt)],
    ['ready', shortTime(build.readyAt)],
  ];
  const width = Math.max(...fields.map(([name]) => (name ?? '').length));
  const head = fields.map(([name, value]) => `${`${name}:`.padEnd(width + 1)}  ${value}\n`).join('');
  if (build.packages.length === 0) return `${head}packages: none yet\n`;
  const packages = [...build.packages].sort((a, b) => (a.kind === b.kind ? (a.fromVersion ?? '').localeCompare(b.fromVersion ?? '') : a.kind === 'full' ? -1 : 1));
  const rows = table(packages, [
    { header: 'KIND', cell: (p) => p.kind },
    { header: 'VERSIONS', cell: (p) => (p.fromVersion === null ? p.toVersion : `${p.fromVersion} -> ${p.toVersion}`) },
    { header: 'SIZE', cell: (p) => formatBytes(p.size), align: 'right' },
    // Payload, not file: the envelope would put the full image a hair over 100%.
    { header: 'SHARE', cell: (p) => percent(p.payloadSize / Math.max(1, build.size)), align: 'right' },
    { header: 'PACKAGE', cell: (p) => p.id },
  ]);
  return `${head}\n${rows}`;
}

async function download(args: string[], io: Output): Promise<number> {
  const { values, positionals } = parseOptions(args, { from: { type: 'string' }, out: { type: 'string' }, ...serverOptions }, 1);
  if (values.help) return io.out(buildReadHelp.download ?? ''), ExitCode.Ok;
  const id = required(positionals[0], 'the build id (fota build download BLD [--from VERSION])');
  const client = clientFrom(values);
  const build = await fetchBuild(client, id);
  const pkg = build.packages.find((p) => (values.from === undefined ? p.kind === 'full' : p.fromVersion === values.from));
  if (!pkg) {
    const deltas = build.packages.filter((p) => p.fromVersion !== null).map((p) => p.fromVersion);
    const offered = deltas.length ? `deltas from ${deltas.join(', ')}` : 'no deltas';
    const what = values.from === undefined ? 'no full package' : `no delta from ${values.from}`;
    throw new UsageError(`build ${build.id} (${build.model} ${build.version}, ${build.status}) has ${what}; it has ${offered}${build.packages.some((p) => p.kind === 'full') ? ' and a full package' : ''}`);
  }
  const out = resolve(values.out ?? safeFileName(`${pkg.fromVersion === null ? 'full-' : `${pkg.fromVersion}-to-`}${pkg.toVersion}.fota`));
  const got = await downloadFile(client, `/api/v1/packages/${encodeURIComponent(pkg.id)}/file`, out);
  io.out(`${out}\n`);
  io.err(`package ${pkg.id} (${pkg.kind}${pkg.fromVersion === null ? '' : ` from ${pkg.fromVersion}`}): ${formatBytes(got.bytes)} bytes, sha256 ${got.sha256}\n`);
  return ExitCode.Ok;
}

/** A file name made of what the server said: it must stay a name in this directory. */
export function safeFileName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._+-]/g, '_');
  return safe.startsWith('.') ? `_${safe}` : safe;
}
