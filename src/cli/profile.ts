// `fota profile`: configuration profiles (operators, admins). create reads the operations
// from a JSON file (checked here with the server's own schema, so a mistake names the
// operation before anything is sent), list and show read them, apply queues one version
// for a device's next session, config shows what a device reported, drift asks a cohort
// to read back and compare. Configuration campaigns: fota campaign create --profile.
import { readFile, stat } from 'node:fs/promises';
import { z } from 'zod';
import { driftQueuedSchema } from '../profiles/drift-schemas.ts';
import { appliedSchema, createdProfileVersionSchema, createProfileSchema, deviceConfigurationSchema, type ProfileOperation, profileRefSchema, profileSummarySchema, profileVersionViewSchema, profileViewSchema } from '../profiles/schemas.ts';
import { callServer, clientFrom, serverHelp, serverOptions } from './client.ts';
import { cohortFrom, cohortOptions } from './campaign.ts';
import { confirmBody, confirmHelp, confirmOptions } from './confirm-option.ts';
import { ExitCode, type Output, parseOptions, required, UsageError } from './io.ts';

/** A profile file is a few KB; a bigger one is a mistake (or not a profile). */
const MAX_FILE_BYTES = 1024 * 1024;

export const profileUsage = `Usage: fota profile create --name N --model M --file OPERATIONS.json
                           [--provisioning] [--description D]
       fota profile list [--json]
       fota profile show NAME[@VERSION] [--json]
       fota profile apply NAME@VERSION --device DEVID [--no-notify]
                          [--confirm TEXT [--confirm-wait 5m] [--confirm-default accept|reject]]
       fota profile config DEVID [--json]
       fota profile drift NAME[@VERSION] [--model M] [--versions V,V] [--tags T,T]
                          [--devices ID,ID | --devices-file FILE]

A configuration profile is a named, versioned set of DM node operations for one model.
OPERATIONS.json holds a JSON array of operations (or an object with "operations"):
  {"command": "Add"|"Replace"|"Delete"|"Exec", "uri": "./DMAcc/fota/AppAddr/1/Addr",
   "data": "https://dm2.example.net/dm", "format": "chr"|"int"|"bool"|"b64"|"float",
   "readFirst": true}
Node paths are absolute ("./..."), with no "." or ".." and no empty segment. Each create
makes a new version (versions never change). --provisioning makes the profile the
model's provisioning profile: every device of the model gets its newest version at its
next session, once. create prints the version as NAME@VERSION on the last line.

apply queues the version for the device's next DM session and wakes it with a Package 0
(--no-notify: wait for its poll). config prints the device's configuration as read back
after profiles were applied, and its recent applications (every Status). drift asks each
device of the cohort to read the profile's nodes back at its next session and compare.
To roll a profile out in stages: fota campaign create --profile NAME@VERSION ...
(with --confirm TEXT there too, each device's user confirms the change first).

apply with --confirm:
${confirmHelp}

${serverHelp}
Exit codes: 0 ok, 1 refused by the server (its message says why), 2 usage error,
unusable file or server unreachable.
`;

export async function profileCommand(args: string[], io: Output): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'create':
      return create(rest, io);
    case 'list':
      return list(rest, io);
    case 'show':
      return show(rest, io);
    case 'apply':
      return apply(rest, io);
    case 'config':
      return config(rest, io);
    case 'drift':
      return drift(rest, io);
    default:
      throw new UsageError(sub === undefined ? 'missing command: fota profile create|list|show|apply|config|drift' : `unknown command: profile ${sub} (create, list, show, apply, config or drift)`);
  }
}

async function operationsFrom(file: string): Promise<unknown> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    throw new UsageError(`cannot read ${file}`);
  }
  if (size > MAX_FILE_BYTES) throw new UsageError(`${file} is ${size} bytes; a profile file is at most ${MAX_FILE_BYTES}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`${file} is not JSON: ${(err as Error).message}`);
  }
  return Array.isArray(parsed) ? parsed : typeof parsed === 'object' && parsed !== null && 'operations' in parsed ? (parsed as { operations: unknown }).operations : parsed;
}

async function create(args: string[], io: Output): Promise<number> {
  const { values } = parseOptions(args, { name: { type: 'string' }, model: { type: 'string' }, file: { type: 'string' }, provisioning: { type: 'boolean' }, description: { type: 'string' }, ...serverOptions });
  if (values.help) return io.out(profileUsage), ExitCode.Ok;
  const body = {
    name: required(values.name, '--name N'),
    model: required(values.model, '--model M'),
    operations: await operationsFrom(required(values.file, '--file OPERATIONS.json')),
    ...(values.provisioning ? { provisioning: true } : {}),
    ...(values.description === undefined ? {} : { description: values.description }),
  };
  const checked = createProfileSchema.safeParse(body);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw new UsageError(`${where}${issue?.message ?? 'invalid profile'}`);
  }
  const created = await callServer(clientFrom(values), 'POST', '/api/v1/profiles', createdProfileVersionSchema, { json: checked.data });
  io.err(`created ${created.name} version ${created.version} for model ${created.model} (${created.id})\n`);
  io.out(`${created.name}@${created.version}\n`);
  return ExitCode.Ok;
}

async function list(args: string[], io: Output): Promise<number> {
  const { values } = parseOptions(args, { json: { type: 'boolean' }, ...serverOptions });
  if (values.help) return io.out(profileUsage), ExitCode.Ok;
  const { items } = await callServer(clientFrom(values), 'GET', '/api/v1/profiles', z.object({ items: z.array(profileSummarySchema) }));
  if (values.json) return io.out(`${JSON.stringify(items, null, 2)}\n`), ExitCode.Ok;
  if (items.length === 0) return io.out('no profiles\n'), ExitCode.Ok;
  io.out(`${items.map((p) => `${p.name}@${p.latestVersion}  ${p.model}${p.provisioning ? '  (provisioning)' : ''}`).join('\n')}\n`);
  return ExitCode.Ok;
}

const describeOperation = (op: ProfileOperation) => `  ${op.command} ${op.uri}${op.data === undefined ? '' : ` = ${JSON.stringify(op.data)}`}${op.format ? ` (${op.format})` : ''}${op.readFirst ? ' [old value read first]' : ''}`;

async function show(args: string[], io: Output): Promise<number> {
  const { values, positionals } = parseOptions(args, { json: { type: 'boolean' }, ...serverOptions }, 1);
  if (values.help) return io.out(profileUsage), ExitCode.Ok;
  const ref = refOf(required(positionals[0], 'NAME[@VERSION]'));
  const [name = '', version] = ref.split('@');
  const client = clientFrom(values);
  const versions = version
    ? [await callServer(client, 'GET', `/api/v1/profiles/${encodeURIComponent(name)}/versions/${version}`, profileVersionViewSchema)]
    : (await callServer(client, 'GET', `/api/v1/profiles/${encodeURIComponent(name)}`, profileViewSchema)).versions;
  if (values.json) return io.out(`${JSON.stringify(versions, null, 2)}\n`), ExitCode.Ok;
  for (const v of versions) io.out(`${v.profile}@${v.version} for ${v.model}, by ${v.createdBy} at ${v.createdAt}${v.description ? `: ${v.description}` : ''}\n${v.operations.map(describeOperation).join('\n')}\n`);
  return ExitCode.Ok;
}

async function apply(args: string[], io: Output): Promise<number> {
  const { values, positionals } = parseOptions(args, { device: { type: 'string' }, 'no-notify': { type: 'boolean' }, ...confirmOptions, ...serverOptions }, 1);
  if (values.help) return io.out(profileUsage), ExitCode.Ok;
  const ref = refOf(required(positionals[0], 'NAME@VERSION'));
  const device = required(values.device, '--device DEVID');
  const applied = await callServer(clientFrom(values), 'POST', `/api/v1/devices/${encodeURIComponent(device)}/profile`, appliedSchema, { json: { profile: ref, notify: !values['no-notify'], ...optionalConfirm(confirmBody(values)) } });
  io.err(`${ref} queued for ${device}${applied.notified ? ' (woken with a Package 0)' : ' (applied at its next session)'}\n`);
  io.out(`${applied.applicationId}\n`);
  return ExitCode.Ok;
}

async function config(args: string[], io: Output): Promise<number> {
  const { values, positionals } = parseOptions(args, { json: { type: 'boolean' }, ...serverOptions }, 1);
  if (values.help) return io.out(profileUsage), ExitCode.Ok;
  const device = required(positionals[0], 'DEVID');
  const view = await callServer(clientFrom(values), 'GET', `/api/v1/devices/${encodeURIComponent(device)}/configuration`, deviceConfigurationSchema);
  if (values.json) return io.out(`${JSON.stringify(view, null, 2)}\n`), ExitCode.Ok;
  const lines = [view.values.length ? view.values.map((v) => `${v.uri} = ${JSON.stringify(v.value)}  (${v.reportedAt})`).join('\n') : 'no configuration reported yet'];
  for (const a of view.applications) {
    lines.push(`${a.id} ${a.reason} ${a.state}${a.failureCode === null ? '' : ` (Status ${a.failureCode})`}${a.failureReason ? ` - ${a.failureReason}` : ''}: ${a.statuses.map((s) => `${s.command} ${s.uri} ${s.status ?? '-'}`).join('; ') || 'waiting for the device'}`);
  }
  io.out(`${lines.join('\n')}\n`);
  return ExitCode.Ok;
}

async function drift(args: string[], io: Output): Promise<number> {
  const { values, positionals } = parseOptions(args, { ...cohortOptions, ...serverOptions }, 1);
  if (values.help) return io.out(profileUsage), ExitCode.Ok;
  const [name = '', version] = refOf(required(positionals[0], 'NAME[@VERSION]')).split('@');
  const queued = await callServer(clientFrom(values), 'POST', `/api/v1/profiles/${encodeURIComponent(name)}/drift-check`, driftQueuedSchema, { json: { cohort: await cohortFrom(values), ...(version ? { version: Number(version) } : {}) } });
  io.out(`drift check queued on ${queued.devices} device${queued.devices === 1 ? '' : 's'}: each reads back at its next session (fota profile config DEVID, or the audit: device.configuration-drift)\n`);
  return ExitCode.Ok;
}

function refOf(text: string): string {
  const checked = profileRefSchema.safeParse(text);
  if (!checked.success) throw new UsageError(`${JSON.stringify(text)} ${checked.error.issues[0]?.message ?? 'is not NAME@VERSION'}`);
  return checked.data;
}

const optionalConfirm = <T>(confirm: T | undefined): { confirm?: T } => (confirm === undefined ? {} : { confirm });
