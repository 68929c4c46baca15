// `fota release`: offer a build to a cohort for updates devices (or their users) ask for,
// list the releases, withdraw one. The cohort and window options are campaign create's.
import { releaseViewSchema, type ReleaseView } from '../releases/schemas.ts';
import { callServer, clientFrom, serverHelp, serverOptions } from './client.ts';
import { cohortFrom, cohortOptions, parseWindow } from './campaign.ts';
import { ExitCode, type Output, parseOptions, required, UsageError } from './io.ts';
import { fetchList, moreHint, pageHelp, pageOptions } from './pages.ts';

const exitCodes = `Exit codes: 0 ok, 1 refused by the server (its message says why: wrong role, build
not ready, a security downgrade for the cohort, no such release), 2 usage error or
server unreachable.`;

export const releaseUsage = `Usage: fota release create --build BLD [--model M] [--versions V,V] [--tags T,T]
                           [--devices ID,ID | --devices-file FILE]
                           [--window "Mon-Fri 22:00-05:00 Europe/Berlin"]
       fota release list [--limit N] [--cursor C] [--all] [--json]
       fota release withdraw ID

A release offers build BLD to a cohort (chosen as fota campaign create chooses one) for
updates the device asks for: when a device of the cohort sends the FUMO request alert
(fota device run --request-update or --user-request) and runs an older build, the
server updates it in that session, inside --window if one is given. Nothing is pushed;
devices that do not ask are not touched. create prints the release's id alone on the
last line of stdout. withdraw stops the offer (updates under way finish).

${pageHelp}

${serverHelp}
${exitCodes}
`;

export async function releaseCommand(args: string[], io: Output): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'create':
      return create(rest, io);
    case 'list':
      return list(rest, io);
    case 'withdraw':
      return withdraw(rest, io);
    default:
      throw new UsageError(sub === undefined ? 'missing command: fota release create|list|withdraw' : `unknown command: release ${sub} (create, list or withdraw)`);
  }
}

async function create(args: string[], io: Output): Promise<number> {
  const { values } = parseOptions(args, { build: { type: 'string' }, ...cohortOptions, window: { type: 'string' }, ...serverOptions });
  if (values.help) return io.out(releaseUsage), ExitCode.Ok;
  const buildId = required(values.build, '--build BLD (the build id that fota build upload printed)');
  const body = { buildId, cohort: await cohortFrom(values), ...(values.window === undefined ? {} : { maintenanceWindow: parseWindow(values.window) }) };
  const view = await callServer(clientFrom(values), 'POST', '/api/v1/releases', releaseViewSchema, { json: body });
  io.err(`released ${view.version} (${view.buildId}) to ${cohortWords(view)}\n`);
  io.out(`${view.id}\n`);
  return ExitCode.Ok;
}

async function list(args: string[], io: Output): Promise<number> {
  const { values } = parseOptions(args, { ...pageOptions, ...serverOptions });
  if (values.help) return io.out(releaseUsage), ExitCode.Ok;
  const listed = await fetchList(clientFrom(values), '/api/v1/releases', {}, releaseViewSchema, values);
  if (values.json) return io.out(`${JSON.stringify(listed, null, 2)}\n`), ExitCode.Ok;
  if (listed.items.length === 0) return io.err(values.cursor === undefined ? 'no releases yet (fota release create --help)\n' : 'no releases\n'), ExitCode.Ok;
  for (const r of listed.items) io.out(`${r.id}  ${r.model} -> ${r.version}  ${cohortWords(r)}  ${r.withdrawnAt ? `withdrawn ${r.withdrawnAt}` : 'offered'}\n`);
  if (listed.nextCursor !== null) io.err(moreHint('releases', listed.nextCursor));
  return ExitCode.Ok;
}

async function withdraw(args: string[], io: Output): Promise<number> {
  const { values, positionals } = parseOptions(args, serverOptions, 1);
  if (values.help) return io.out(releaseUsage), ExitCode.Ok;
  const id = required(positionals[0], 'the release id (fota release list)');
  const view = await callServer(clientFrom(values), 'DELETE', `/api/v1/releases/${encodeURIComponent(id)}`, releaseViewSchema);
  io.out(`withdrew release ${view.id} (${view.version}); devices that ask are no longer offered it\n`);
  return ExitCode.Ok;
}

function cohortWords(view: ReleaseView): string {
  const c = view.cohort;
  const parts = [`model ${c.model}`, c.versions ? `on ${c.versions.join(',')}` : '', c.tags ? `tagged ${c.tags.join(',')}` : '', c.deviceIds ? `${c.deviceIds.length} listed device(s)` : ''].filter(Boolean);
  const w = view.maintenanceWindow;
  return parts.join(' ') + (w ? ` (window ${w.days.join(',')} ${w.start}-${w.end} ${w.timeZone})` : '');
}
