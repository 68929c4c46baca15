// `fota enroll`: enrollment batches (operator). create registers devices of one model with
// generated DM accounts (optionally sharing a claim credential); export writes the batch's
// bootstrap files and CSV manifest into a new directory, once (the server hands the
// secrets out a single time); list and show read batches.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { batchExportSchema, batchViewSchema, type BatchView, type ExportFile } from '../enroll/schemas.ts';
import { callServer, clientFrom, serverHelp, serverOptions } from './client.ts';
import { ExitCode, integerOption, type Output, parseOptions, required, UsageError } from './io.ts';
import { fetchList, moreHint, pageHelp, pageOptions } from './pages.ts';

export const enrollUsage = `Usage: fota enroll create --name N --model M (--devices ID,ID | --devices-file FILE | --count N)
                          [--claim NAME] [--auth md5|basic|hmac] [--server-address URL]
                          [--subscriber-node ./DevDetail/Ext/IMSI] [--tags T,T]
       fota enroll export ID --out DIR
       fota enroll reset DEVICE --reason TEXT --out DIR
       fota enroll list [--limit N] [--cursor C] [--all] [--json]
       fota enroll show ID [--json]

create registers the batch's devices (listed DevIds such as IMEI:..., one per line in
--devices-file, or --count N serial numbers the server makes up) with a DM account
each: client and server credentials, auth type (default md5 digest), the server id and
address (default: the server's public URL + /dm). It prints the batch id alone on the
last line of stdout. With --claim NAME every device of the batch starts on one shared
claim credential; at its first DM session the server checks it against the batch (listed,
same model, not enrolled before) and replaces the claim with credentials of its own.
--subscriber-node names a node whose change (a new SIM) provisions a device again.

export writes into DIR (new or empty): manifest.csv and, per device, DEVID.cp.xml and
DEVID.cp.wbxml (OMA Client Provisioning, w7) and DEVID.dm.wbxml (DM bootstrap message)
under devices/, files readable by you alone. They hold the secrets, which the server
hands out once: a second export is refused.

reset gives an enrolled device that lost its credentials (every session of its refused)
new credentials of its own at once, and writes into DIR (new or empty) its bootstrap
files alone and a manifest, to flash it again; its old credentials stop working. The
reason goes into the audit.

${pageHelp}

${serverHelp}
Exit codes: 0 ok, 1 refused by the server (its message says why: wrong role, a device
already registered, a claim name in use, already exported, no such batch), 2 usage error
or server unreachable.
`;

export async function enrollCommand(args: string[], io: Output): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'create':
      return create(rest, io);
    case 'export':
      return exportBatch(rest, io);
    case 'list':
      return list(rest, io);
    case 'show':
      return show(rest, io);
    case 'reset':
      return reset(rest, io);
    default:
      throw new UsageError(sub === undefined ? 'missing command: fota enroll create|export|list|show|reset' : `unknown command: enroll ${sub} (create, export, list, show or reset)`);
  }
}

async function create(args: string[], io: Output): Promise<number> {
  const { values } = parseOptions(args, {
    name: { type: 'string' },
    model: { type: 'string' },
    devices: { type: 'string' },
    'devices-file': { type: 'string' },
    count: { type: 'string' },
    claim: { type: 'string' },
    auth: { type: 'string' },
    'server-address': { type: 'string' },
    'subscriber-node': { type: 'string' },
    tags: { type: 'string' },
    ...serverOptions,
  });
  if (values.help) return io.out(enrollUsage), ExitCode.Ok;
  const given = [values.devices, values['devices-file'], values.count].filter((v) => v !== undefined).length;
  if (given !== 1) throw new UsageError('give one of --devices ID,ID, --devices-file FILE or --count N');
  const deviceIds = values.devices !== undefined ? splitList(values.devices) : values['devices-file'] !== undefined ? splitLines(await readFile(values['devices-file'], 'utf8')) : undefined;
  const count = integerOption(values.count, '--count', 1);
  if (values.auth !== undefined && !['md5', 'basic', 'hmac'].includes(values.auth)) throw new UsageError(`--auth must be md5, basic or hmac, got ${values.auth}`);
  const body = {
    name: required(values.name, '--name N'),
    model: required(values.model, '--model M'),
    ...(deviceIds ? { deviceIds } : {}),
    ...(count === undefined ? {} : { count }),
    ...(values.claim === undefined ? {} : { claim: { name: values.claim } }),
    ...(values.auth === undefined ? {} : { authType: values.auth }),
    ...(values['server-address'] === undefined ? {} : { serverAddress: values['server-address'] }),
    ...(values['subscriber-node'] === undefined ? {} : { subscriberNode: values['subscriber-node'] }),
    ...(values.tags === undefined ? {} : { tags: splitList(values.tags) }),
  };
  const view = await callServer(clientFrom(values), 'POST', '/api/v1/enrollments', batchViewSchema, { json: body });
  io.err(`created batch ${view.name}: ${view.size} ${view.model} device(s)${view.claim ? ` on claim ${view.claim.name}` : ''}; take the bootstrap files with: fota enroll export ${view.id} --out DIR\n`);
  io.out(`${view.id}\n`);
  return ExitCode.Ok;
}

async function exportBatch(args: string[], io: Output): Promise<number> {
  const { values, positionals } = parseOptions(args, { out: { type: 'string' }, ...serverOptions }, 1);
  if (values.help) return io.out(enrollUsage), ExitCode.Ok;
  const id = required(positionals[0], 'the batch id (fota enroll list)');
  const out = await emptyOutDir(required(values.out, '--out DIR'));
  const answer = await callServer(clientFrom(values), 'POST', `/api/v1/enrollments/${encodeURIComponent(id)}/export`, batchExportSchema);
  await writeExportFiles(out, answer.files);
  io.err(`wrote ${answer.files.length} files for ${answer.batch.size} device(s) into ${out}; the server will not hand these secrets out again\n`);
  io.out(`${join(out, 'manifest.csv')}\n`);
  return ExitCode.Ok;
}

async function reset(args: string[], io: Output): Promise<number> {
  const { values, positionals } = parseOptions(args, { out: { type: 'string' }, reason: { type: 'string' }, ...serverOptions }, 1);
  if (values.help) return io.out(enrollUsage), ExitCode.Ok;
  const deviceId = required(positionals[0], 'the device id');
  const reason = required(values.reason, '--reason TEXT');
  const out = await emptyOutDir(required(values.out, '--out DIR'));
  const answer = await callServer(clientFrom(values), 'POST', `/api/v1/enrollments/devices/${encodeURIComponent(deviceId)}/reset`, batchExportSchema, { json: { reason } });
  await writeExportFiles(out, answer.files);
  io.err(`reset ${deviceId}: its old credentials no longer work; flash it with a file from ${join(out, 'devices')} (the server will not hand these secrets out again)\n`);
  io.out(`${join(out, 'manifest.csv')}\n`);
  return ExitCode.Ok;
}

/**
 * The directory an export goes into, new or empty, created readable by the user alone.
 * Checked before asking: an export is handed out once, and must not be lost to a bad directory.
 */
async function emptyOutDir(given: string): Promise<string> {
  const out = resolve(given);
  const existing = await readdir(out).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? [] : Promise.reject(err)));
  if (existing.length > 0) throw new UsageError(`${out} is not empty: give a new directory (the export is handed out once)`);
  await mkdir(out, { recursive: true, mode: 0o700 });
  return out;
}

/** Writes an export's files under `out`, readable by the user alone; a path leading outside `out` is refused. */
export async function writeExportFiles(out: string, files: readonly ExportFile[]): Promise<void> {
  for (const file of files) {
    const path = join(out, file.path);
    const inside = relative(out, path);
    if (isAbsolute(file.path) || inside.startsWith('..') || isAbsolute(inside)) throw new UsageError(`the server sent a file outside the export directory: ${file.path}`);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(path, file.encoding === 'base64' ? Buffer.from(file.content, 'base64') : file.content, { mode: 0o600 });
  }
}

async function list(args: string[], io: Output): Promise<number> {
  const { values } = parseOptions(args, { ...pageOptions, ...serverOptions });
  if (values.help) return io.out(enrollUsage), ExitCode.Ok;
  const listed = await fetchList(clientFrom(values), '/api/v1/enrollments', {}, batchViewSchema, values);
  if (values.json) return io.out(`${JSON.stringify(listed, null, 2)}\n`), ExitCode.Ok;
  if (listed.items.length === 0) return io.err(values.cursor === undefined ? 'no enrollment batches yet (fota enroll create --help)\n' : 'no batches\n'), ExitCode.Ok;
  for (const b of listed.items) io.out(`${line(b)}\n`);
  if (listed.nextCursor !== null) io.err(moreHint('enroll', listed.nextCursor));
  return ExitCode.Ok;
}

async function show(args: string[], io: Output): Promise<number> {
  const { values, positionals } = parseOptions(args, { json: { type: 'boolean' }, ...serverOptions }, 1);
  if (values.help) return io.out(enrollUsage), ExitCode.Ok;
  const id = required(positionals[0], 'the batch id (fota enroll list)');
  const view = await callServer(clientFrom(values), 'GET', `/api/v1/enrollments/${encodeURIComponent(id)}`, batchViewSchema);
  if (values.json) return io.out(`${JSON.stringify(view, null, 2)}\n`), ExitCode.Ok;
  io.out(`${line(view)}\n  server ${view.serverId} at ${view.serverAddress}, auth ${view.authType}${view.subscriberNode ? `, subscriber node ${view.subscriberNode}` : ''}\n  created by ${view.createdBy} at ${view.createdAt}\n`);
  return ExitCode.Ok;
}

function line(b: BatchView): string {
  const d = b.devices;
  return `${b.id}  ${b.name}  ${b.model}  ${b.size} device(s)  ${b.claim ? `claim ${b.claim.name}: ${d.enrolled} enrolled, ${d.awaitingClaim} awaiting` : `${d.enrolled} seen, ${d.issued} not yet`}  ${b.exportedAt ? `exported ${b.exportedAt}` : 'not exported'}`;
}

function splitList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function splitLines(text: string): string[] {
  return text.split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== '' && !s.startsWith('#'));
}
