// `fota app` (application packages, a device's applications and one-off SCOMO operations)
// and `fota baseline` (a model's default application set).
import { createReadStream } from 'node:fs';
import { z } from 'zod';
import { statInputFile } from '../files.ts';
import { appViewSchema, baselineViewSchema, deviceAppsViewSchema, type AppView } from '../scomo/schemas.ts';
import { callServer, clientFrom, serverHelp, serverOptions } from './client.ts';
import { confirmBody, confirmHelp, confirmOptions } from './confirm-option.ts';
import { ExitCode, formatBytes, type Output, parseOptions, required, UsageError } from './io.ts';

export const appUsage = `Usage: fota app upload FILE --model M --component ID --version V
       fota app list [--model M] [--component ID] [--json]
       fota app device DEVID [--json]
       fota app device DEVID --install ID@V [--two-step] | --remove ID | --activate ID | --deactivate ID
                             [--confirm TEXT [--confirm-wait 5m] [--confirm-default accept|reject]]

upload (manufacturer) sends FILE as version V of application component ID (reverse-domain
style, e.g. com.acme.maps) for model M. The server signs it with the manufacturer's key,
like firmware, and makes a delta from each recent earlier version where the delta pays;
it prints the application's id alone on the last line of stdout.
list shows application versions and their packages. device (operator) shows what a
device last reported in ./SCOMO/Inventory/Deployed, what its model's baseline still asks
of it, and its SCOMO operations; with an operation flag it schedules that operation for
the device's next DM session (--two-step: SCOMO Download, then Install).

${confirmHelp}

${serverHelp}
Exit codes: 0 ok, 1 refused by the server (its message says why), 2 usage error, unreadable
FILE or server unreachable.
`;

export const baselineUsage = `Usage: fota baseline set --model M [--app ID@V ...] [--forbid ID ...]
                         [--confirm TEXT [--confirm-wait 5m] [--confirm-default accept|reject]]
       fota baseline show --model M [--json]

A model's baseline (operator): the applications every device of the model runs (each at
version V, which must have been uploaded) and the components none may run. Devices are
reconciled in their DM sessions: missing applications installed, other versions replaced,
inactive ones activated, forbidden ones removed. set replaces the whole baseline.
With --confirm each device's user is asked before each install or update the baseline
makes (removals are not asked); a user who rejects keeps the device as it is.

${confirmHelp}

${serverHelp}
Exit codes: 0 ok, 1 refused by the server, 2 usage error or server unreachable.
`;

export async function appCommand(args: string[], io: Output): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'upload':
      return upload(rest, io);
    case 'list':
      return list(rest, io);
    case 'device':
      return device(rest, io);
    default:
      throw new UsageError(sub === undefined ? 'missing command: fota app upload|list|device' : `unknown command: app ${sub} (upload, list or device)`);
  }
}

async function upload(args: string[], io: Output): Promise<number> {
  const { values, positionals } = parseOptions(args, { model: { type: 'string' }, component: { type: 'string' }, version: { type: 'string' }, ...serverOptions }, 1);
  if (values.help) return io.out(appUsage), ExitCode.Ok;
  const file = required(positionals[0], 'FILE (the application to upload)');
  const query = new URLSearchParams({ model: required(values.model, '--model M'), component: required(values.component, '--component ID'), version: required(values.version, '--version V') });
  const info = await statInputFile(file, 'application');
  const view = await callServer(clientFrom(values), 'POST', `/api/v1/apps?${query}`, appViewSchema, { stream: createReadStream(file), size: info.size, contentType: 'application/octet-stream' });
  io.err(describe(view));
  io.out(`${view.id}\n`);
  return ExitCode.Ok;
}

async function list(args: string[], io: Output): Promise<number> {
  const { values } = parseOptions(args, { model: { type: 'string' }, component: { type: 'string' }, json: { type: 'boolean' }, ...serverOptions });
  if (values.help) return io.out(appUsage), ExitCode.Ok;
  const query = new URLSearchParams({ ...(values.model ? { model: values.model } : {}), ...(values.component ? { component: values.component } : {}) });
  const listed = await callServer(clientFrom(values), 'GET', `/api/v1/apps${query.size ? `?${query}` : ''}`, z.object({ items: z.array(appViewSchema) }));
  if (values.json) return io.out(`${JSON.stringify(listed, null, 2)}\n`), ExitCode.Ok;
  if (listed.items.length === 0) return io.err('no applications yet (fota app upload --help)\n'), ExitCode.Ok;
  for (const app of listed.items) io.out(describe(app));
  return ExitCode.Ok;
}

function describe(app: AppView): string {
  const packages = app.packages.map((p) => (p.kind === 'full' ? `full ${formatBytes(p.size)}` : `delta from ${p.fromVersion ?? '?'} ${formatBytes(p.size)}`)).join(', ');
  return `${app.id}  ${app.model}  ${app.component} ${app.version}  ${formatBytes(app.size)}  (${packages})\n`;
}

async function device(args: string[], io: Output): Promise<number> {
  const { values, positionals } = parseOptions(args, { install: { type: 'string' }, remove: { type: 'string' }, activate: { type: 'string' }, deactivate: { type: 'string' }, 'two-step': { type: 'boolean' }, json: { type: 'boolean' }, ...confirmOptions, ...serverOptions }, 1);
  if (values.help) return io.out(appUsage), ExitCode.Ok;
  const id = encodeURIComponent(required(positionals[0], 'DEVID'));
  const client = clientFrom(values);
  const chosen = (['install', 'remove', 'activate', 'deactivate'] as const).filter((op) => values[op] !== undefined);
  if (chosen.length > 1) throw new UsageError('give one of --install, --remove, --activate, --deactivate');
  const operation = chosen[0];
  const confirm = confirmBody(values);
  if (confirm && !operation) throw new UsageError('--confirm goes with an operation (--install, --remove, --activate, --deactivate)');
  if (operation) {
    const target = values[operation] ?? '';
    const [component, version] = operation === 'install' ? splitAt(target) : [target, undefined];
    const body = { operation, component, ...(version ? { version } : {}), ...(values['two-step'] ? { mode: 'twoStep' } : {}), ...(confirm ? { confirm } : {}) };
    const made = await callServer(client, 'POST', `/api/v1/devices/${id}/apps`, z.object({ id: z.string() }), { json: body });
    io.err(`scheduled ${operation} of ${target} for the device's next DM session\n`);
    io.out(`${made.id}\n`);
    return ExitCode.Ok;
  }
  const view = await callServer(client, 'GET', `/api/v1/devices/${id}/apps`, deviceAppsViewSchema);
  if (values.json) return io.out(`${JSON.stringify(view, null, 2)}\n`), ExitCode.Ok;
  io.out(`applications of ${view.deviceId} (read ${view.readAt ?? 'never'}):\n`);
  for (const c of view.components) io.out(`  ${c.component} ${c.version} ${c.state}\n`);
  io.out(view.drift.length === 0 ? 'matches its baseline (or has none)\n' : `baseline still asks: ${view.drift.map((d) => `${d.operation} ${d.component}${d.version ? ` ${d.version}` : ''}`).join(', ')}\n`);
  for (const d of view.deployments) io.out(`  ${d.id}  ${d.operation} ${d.component}${d.targetVersion ? ` ${d.targetVersion}` : ''}  ${d.state}${d.result ? ` (${d.result})` : ''}\n`);
  return ExitCode.Ok;
}

/** "com.acme.maps@2.0" -> ["com.acme.maps", "2.0"]. */
function splitAt(text: string): [string, string] {
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) throw new UsageError(`expected ID@VERSION, got ${text}`);
  return [text.slice(0, at), text.slice(at + 1)];
}

export async function baselineCommand(args: string[], io: Output): Promise<number> {
  const [sub, ...rest] = args;
  const { values } = parseOptions(rest, { model: { type: 'string' }, app: { type: 'string', multiple: true }, forbid: { type: 'string', multiple: true }, json: { type: 'boolean' }, ...confirmOptions, ...serverOptions });
  if (values.help) return io.out(baselineUsage), ExitCode.Ok;
  const model = encodeURIComponent(required(values.model, '--model M'));
  const client = clientFrom(values);
  if (sub === 'set') {
    const apps = (values.app ?? []).map((a) => {
      const [component, version] = splitAt(a);
      return { component, version };
    });
    const confirm = confirmBody(values);
    const view = await callServer(client, 'PUT', `/api/v1/baselines/${model}`, baselineViewSchema, { json: { apps, forbidden: values.forbid ?? [], ...(confirm ? { confirm } : {}) } });
    io.out(describeBaseline(view));
    return ExitCode.Ok;
  }
  if (sub === 'show') {
    const view = await callServer(client, 'GET', `/api/v1/baselines/${model}`, baselineViewSchema);
    io.out(values.json ? `${JSON.stringify(view, null, 2)}\n` : describeBaseline(view));
    return ExitCode.Ok;
  }
  throw new UsageError(sub === undefined ? 'missing command: fota baseline set|show' : `unknown command: baseline ${sub} (set or show)`);
}

function describeBaseline(view: z.infer<typeof baselineViewSchema>): string {
  const apps = view.apps.map((a) => `${a.component} ${a.version}`).join(', ') || '(none)';
  return `baseline of ${view.model} (set ${view.updatedAt}):\n  runs: ${apps}\n  forbidden: ${view.forbidden.join(', ') || '(none)'}\n`;
}
