// `fota campaign`: the operator's staged rollouts from the command line. Create a campaign
// (or preview its cohort), start it, approve its gated stages, pause, resume, abort, and
// follow it: `status` draws each stage as a bar of succeeded / failed / in flight / pending.
// Options are checked here so mistakes are usage errors (exit 2) naming the flag; the
// server's refusals (wrong role, wrong state, four eyes) pass through as exit 1.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { campaignSummarySchema, campaignViewSchema, type CohortPreview, cohortPreviewSchema, createCampaignSchema, forceActionSchema, operatorActionSchema, startActionSchema, type StageView } from '../campaigns/schemas.ts';
import { approvalWaitWords, campaignBadge, creatorName, overrideWords, pauseReasonWords, stageLabel, stageStateWords } from '../campaigns/labels.ts';
import { percent } from '../format.ts';
import { isKnownTimeZone, type MaintenanceWindow, WEEKDAYS, type Weekday } from '../schedule/window.ts';
import { statInputFile } from '../files.ts';
import { callServer, type Client, clientFrom, ServerRefusal, serverHelp, serverOptions } from './client.ts';
import { fetchList, moreHint, pageHelp, pageOptions } from './pages.ts';
import { ExitCode, formatBytes, integerOption, type Output, parseOptions, processOutput, required, UsageError } from './io.ts';

const DEFAULT_WATCH_SECONDS = 2;
const BAR_WIDTH = 20;

const exitCodes = `Exit codes: 0 ok, 1 refused by the server (its message says why: wrong role, wrong
state, four eyes, devices in another campaign, no such campaign), 2 usage error or
server unreachable.`;

const createHelp = `Usage: fota campaign create --name N (--build BLD | --profile NAME@VERSION | --app COMPONENT@VERSION
                            [--remove | --activate | --deactivate]) --stages PERCENTS
                            [--model M] [--versions V,V] [--tags T,T]
                            [--devices ID,ID | --devices-file FILE]
                            [--success 0.95] [--failure 0.05] [--min-sample 10]
                            [--soak 10m] [--timeout 2h] [--four-eyes] [--dynamic]
                            [--window "Mon-Fri 22:00-05:00 Europe/Berlin" | --force REASON]
                            [--mode install|two-step|download-only] [--bandwidth RATE]
                            [--confirm TEXT [--confirm-wait 5m]]
                            [--dry-run] [--start | --start-at ISO] [--server URL] [--token T]

Creates a campaign (a draft) that brings a cohort of devices to build BLD, stage by
stage (or, with --profile, a configuration campaign that applies that version of a
configuration profile: fota profile create; with --app, an application campaign that
installs that uploaded version of an application over SCOMO, or with --remove, --activate
or --deactivate and --app COMPONENT, does that to the component wherever a device reports
it; --app takes an application id (fota app list) too; by component, give --model), and prints its id alone on the last line of stdout, so ID=$(fota campaign create
...) works. With --start it is started too (its status goes to stderr). With --dry-run
nothing is created: it prints how many devices the cohort matches, by firmware version,
and which are in other campaigns (as fota campaign preview does).

The cohort: devices of model M (default: the build's model) that run one of --versions,
carry every one of --tags and, with --devices or --devices-file (one id per line, blank
lines and # comments ignored), are among those ids.

  --stages P,P,...     cumulative percents of the cohort, rising to 100. A trailing !
                       makes a stage wait for an operator's approval before it starts:
                       --stages 1,10!,50!,100 updates 1% of the devices, then, once
                       approved, up to 10%, then, once approved, up to 50%, then the rest
  --success SHARE      share of a stage that must succeed before the next one (0.95)
  --failure SHARE      share of failed results that pauses the campaign (0.05)
                       SHARE is 0..1 or a percent: 0.95 or 95%
  --min-sample N       results needed before the failure share is judged (10)
  --soak DURATION      wait after a stage meets --success before the next one (0s)
  --timeout DURATION   a device that goes this long without news has failed (server
                       default); DURATION is a number with s, m, h or d: 30s, 10m, 2h
  --four-eyes          approvals must come from someone other than the creator
                       (default: the server's FOTA_FOUR_EYES setting)
  --dynamic            devices that match the cohort later join the running campaign
  --window "DAYS HH:MM-HH:MM ZONE"
                       command devices only in this maintenance window. DAYS: a range
                       (Mon-Fri), a list (Sat,Sun) or daily; times on a 24-hour clock,
                       an end before the start runs past midnight (22:00-05:00); ZONE:
                       an IANA time zone (Europe/Berlin, UTC)
  --force REASON       forced: devices are commanded at any time (no window); the
                       reason is required and recorded in the audit log
  --mode MODE          install (default: download and install in the window),
                       two-step (download at once, install when the window opens) or
                       download-only (download, then wait for fota campaign install)
  --bandwidth RATE      download budget for the whole campaign in bytes per second
                       (each server process), e.g. 8M, 500k or 2000000
  --confirm TEXT       ask each device's user first (DM Alert 1101): a user who rejects
                       ends that device's deployment as canceled, not failed
  --confirm-wait DURATION
                       how long a device waits for its user (default 5m)
  --start-at ISO       start at this time (e.g. 2026-12-24T22:00:00Z or with an offset,
                       +01:00); the campaign stays a draft, "scheduled for ...", until then

${serverHelp}
${exitCodes}
`;

const previewHelp = `Usage: fota campaign preview [--build BLD] [--model M] [--versions V,V] [--tags T,T]
                             [--devices ID,ID | --devices-file FILE] [--json]

Shows which devices a cohort matches, creating nothing: how many, by firmware version,
how many already run the build's version (left out at start), and how many are in
another running or paused campaign (a start would be refused). Give --build or --model.

${serverHelp}
${exitCodes}
`;

const actionHelp = `Usage: fota campaign start|approve|pause|resume|abort|force ID [--reason TEXT]
                            [--at ISO] [--json] [--server URL] [--token T]

  start     snapshot the cohort, place each device in its stage, start the first stage
            (or wait for its approval); with --at ISO (e.g. 2026-12-24T22:00:00Z), the
            server starts it then instead (abort calls a scheduled start off)
  force     command devices outside the campaign's maintenance window from now on
            (--reason is required and recorded)
  install   let a download-only campaign install: downloaded devices get the Update
            when the window opens
  approve   start the stage that awaits approval (with four eyes: not by the creator)
  pause     stop commanding devices; those already working finish and report
  resume    carry on after a pause (an automatic pause too: its failures are accepted)
  abort     cancel every deployment not yet commanded; the campaign ends

--reason TEXT is recorded with the action. Prints the campaign's status afterwards (see
fota campaign status --help), or with --json the campaign as JSON.

${serverHelp}
${exitCodes}
`;

const statusHelp = `Usage: fota campaign status ID [--watch [SECONDS]] [--json] [--server URL] [--token T]

Shows a campaign: its state, target, rules, pause or abort reason, and one line per
stage with a bar and the counts of its deployments:

  stage 2   50%  running            [####x===::..........]  succeeded 4  failed 1  in flight 3  scheduled 2  pending 10  (of 20)
      failures: 410 ×1

  # succeeded   x failed   = in flight (commanded, downloading, installing)
  : scheduled (to be commanded at the device's next session, inside the window)
  . pending     - canceled    50%! the stage needs an operator's approval

A running stage whose maintenance window is closed reads "waiting for window (opens Mon
22:00 Europe/Berlin)": nothing is commanded until then. Under a stage: its failures by
FUMO result code ("timeout" when a device went silent), whether it awaits approval (and
by whom) or who approved it, and every operator override with who, when and why.

  --watch [SECONDS]  redraw every SECONDS (${DEFAULT_WATCH_SECONDS}) until the campaign is completed or
                     aborted; in place on a terminal, else one block per refresh
  --json             print the campaign as JSON (with --watch, one line per refresh)

${serverHelp}
${exitCodes}
`;

const listHelp = `Usage: fota campaign list [--state S] [--limit N] [--cursor C] [--all] [--json]
                         [--server URL] [--token T]

One line per campaign, newest first: id, name, state (and current stage), model and
target version, and the totals of its deployments. --state: draft, running, paused,
completed or aborted.

${pageHelp}

${serverHelp}
${exitCodes}
`;

const rollbackHelp = `Usage: fota campaign rollback ID [--reason TEXT] [--server URL] [--token T]

Creates a draft campaign that brings the devices campaign ID updated back to the build
their model had before (one stage, the same thresholds and window), and prints its id
alone on the last line of stdout; start it with fota campaign start. The campaign must
be completed or aborted. Refused when the earlier build's securityVersion is lower than
the campaign build's: the updated devices hold the higher one and would refuse the
package (anti-rollback, FUMO 405); roll forward with a fixed build instead.

${serverHelp}
${exitCodes}
`;

export const campaignUsage = `Usage: fota campaign COMMAND ...   (fota campaign COMMAND --help for details)

  create --name N --build BLD --stages 10!,50,100 [cohort, rules] [--dry-run] [--start]
                                 a draft campaign; prints its id (--profile NAME@VERSION:
                                 configuration; --app COMPONENT@VERSION [--remove]: application)
  preview --build BLD [--versions V,V] [--tags T,T]
                                 which devices a cohort matches
  start|approve|pause|resume|abort|force|install ID [--reason TEXT] [--at ISO (start)]
  status ID [--watch [SECONDS]] [--json]
                                 each stage as a bar of succeeded, failed, in flight
  list                           recent campaigns with their totals
  rollback ID [--reason TEXT]    a draft that brings the devices ID updated back to the
                                 previous build (refused below their securityVersion)

Campaigns are operator work: use an operator token.
`;

export const campaignHelp: Record<string, string> = {
  create: createHelp,
  preview: previewHelp,
  start: actionHelp,
  approve: actionHelp,
  pause: actionHelp,
  resume: actionHelp,
  abort: actionHelp,
  force: actionHelp,
  install: actionHelp,
  status: statusHelp,
  list: listHelp,
  rollback: rollbackHelp,
};

const ACTIONS = ['start', 'approve', 'pause', 'resume', 'abort', 'force', 'install'] as const;
type Action = (typeof ACTIONS)[number];

// Loose: --json prints what the server sent, fields this client does not know included.
const viewSchema = campaignViewSchema.loose();
type View = z.infer<typeof viewSchema>;

export async function campaignCommand(args: string[], io: Output): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined) throw new UsageError('missing command: fota campaign create|preview|start|approve|pause|resume|abort|status|list');
  if (isAction(sub)) return action(sub, rest, io);
  switch (sub) {
    case 'create':
      return create(rest, io);
    case 'preview':
      return preview(rest, io);
    case 'status':
      return status(rest, io);
    case 'list':
      return list(rest, io);
    case 'rollback':
      return rollback(rest, io);
    default:
      throw new UsageError(`unknown command: campaign ${sub}`);
  }
}

function isAction(value: string): value is Action {
  return (ACTIONS as readonly string[]).includes(value);
}

export const cohortOptions = {
  model: { type: 'string' },
  versions: { type: 'string' },
  tags: { type: 'string' },
  devices: { type: 'string' },
  'devices-file': { type: 'string' },
} as const;

async function create(args: string[], io: Output): Promise<number> {
  const { values } = parseOptions(args, {
    name: { type: 'string' },
    build: { type: 'string' },
    profile: { type: 'string' },
    app: { type: 'string' },
    remove: { type: 'boolean' },
    activate: { type: 'boolean' },
    deactivate: { type: 'boolean' },
    ...cohortOptions,
    stages: { type: 'string' },
    success: { type: 'string' },
    failure: { type: 'string' },
    'min-sample': { type: 'string' },
    soak: { type: 'string' },
    timeout: { type: 'string' },
    'four-eyes': { type: 'boolean' },
    dynamic: { type: 'boolean' },
    window: { type: 'string' },
    force: { type: 'string' },
    mode: { type: 'string' },
    bandwidth: { type: 'string' },
    confirm: { type: 'string' },
    'confirm-wait': { type: 'string' },
    'dry-run': { type: 'boolean' },
    start: { type: 'boolean' },
    'start-at': { type: 'string' },
    ...serverOptions,
  });
  if (values.help) return io.out(createHelp), ExitCode.Ok;
  if (values['dry-run'] && (values.start || values['start-at'] !== undefined)) throw new UsageError('--dry-run creates nothing, so there is nothing to start; leave one out');
  if (values.start && values['start-at'] !== undefined) throw new UsageError('--start starts now and --start-at later; give one');
  const name = required(values.name, '--name N (what the campaign is called)');
  if ([values.build, values.profile, values.app].filter((v) => v !== undefined).length > 1) throw new UsageError('give one of --build BLD (firmware), --profile NAME@VERSION (configuration) or --app COMPONENT@VERSION (application)');
  const app = appOption(values);
  const buildId = values.profile === undefined && app === undefined ? required(values.build, '--build BLD (the build id that fota build upload printed), --profile NAME@VERSION or --app COMPONENT@VERSION') : undefined;
  const cohort = await cohortFrom(values);
  const stages = parseStages(required(values.stages, '--stages PERCENTS (cumulative, e.g. 10!,50,100; ! = needs approval)'));
  const soakSeconds = durationSeconds(values.soak, '--soak');
  const timeoutSeconds = durationSeconds(values.timeout, '--timeout');
  if (timeoutSeconds === 0) throw new UsageError('--timeout must be longer than 0s');
  const confirmWait = durationSeconds(values['confirm-wait'], '--confirm-wait');
  if (confirmWait !== undefined && values.confirm === undefined) throw new UsageError('--confirm-wait goes with --confirm TEXT');
  const body = {
    name,
    ...optional('buildId', buildId),
    ...optional('profile', values.profile),
    ...optional('app', app),
    cohort,
    stages,
    ...optional('successThreshold', shareOption(values.success, '--success')),
    ...optional('failureThreshold', shareOption(values.failure, '--failure')),
    ...optional('minSample', integerOption(values['min-sample'], '--min-sample', 1)),
    ...optional('soakSeconds', soakSeconds === undefined ? undefined : Math.round(soakSeconds)),
    ...optional('timeoutMinutes', timeoutSeconds === undefined ? undefined : timeoutSeconds / 60),
    ...(values['four-eyes'] ? { fourEyes: true } : {}),
    ...(values.dynamic ? { dynamic: true } : {}),
    ...optional('maintenanceWindow', values.window === undefined ? undefined : parseWindow(values.window)),
    ...optional('forced', values.force === undefined ? undefined : { reason: values.force }),
    ...optional('startAt', values['start-at']),
    ...optional('mode', values.mode === undefined ? undefined : modeOption(values.mode)),
    ...optional('bandwidthBytesPerSecond', values.bandwidth === undefined ? undefined : rateOption(values.bandwidth)),
    ...optional('confirm', values.confirm === undefined ? undefined : { text: values.confirm, maxSeconds: Math.round(confirmWait ?? 300) }),
  };
  checkCreateBody(body);
  const client = clientFrom(values);

  if (values['dry-run']) {
    const result = await callServer(client, 'POST', '/api/v1/cohorts/preview', cohortPreviewSchema, { json: { ...cohort, ...optional('buildId', buildId), ...optional('app', app) } });
    io.out(describePreview(result, app !== undefined));
    io.err('dry run: nothing was created\n');
    return ExitCode.Ok;
  }

  const { id } = await callServer(client, 'POST', '/api/v1/campaigns', z.object({ id: z.string() }), { json: body });
  if (values.start) {
    // The id first: if the start is refused, the draft still exists and scripts need it.
    io.out(`${id}\n`);
    try {
      const view = await callServer(client, 'POST', actionPath(id, 'start'), viewSchema);
      io.err(drawCampaign(view));
    } catch (err) {
      if (err instanceof ServerRefusal) io.err(`campaign ${id} was created as a draft but not started; start it later with: fota campaign start ${id}\n`);
      throw err;
    }
    return ExitCode.Ok;
  }
  io.err(`created campaign ${id} (a draft); start it with: fota campaign start ${id}\n`);
  io.out(`${id}\n`);
  return ExitCode.Ok;
}

async function preview(args: string[], io: Output): Promise<number> {
  const { values } = parseOptions(args, { build: { type: 'string' }, ...cohortOptions, json: { type: 'boolean' }, ...serverOptions });
  if (values.help) return io.out(previewHelp), ExitCode.Ok;
  if (values.build === undefined && values.model === undefined) throw new UsageError('give --build BLD or --model M (the cohort is of one model)');
  const cohort = await cohortFrom(values);
  const client = clientFrom(values);
  const result = await callServer(client, 'POST', '/api/v1/cohorts/preview', cohortPreviewSchema, { json: { ...cohort, ...optional('buildId', values.build) } });
  io.out(values.json ? `${JSON.stringify(result, null, 2)}\n` : describePreview(result));
  return ExitCode.Ok;
}

async function action(name: Action, args: string[], io: Output): Promise<number> {
  const { values, positionals } = parseOptions(args, { reason: { type: 'string' }, at: { type: 'string' }, json: { type: 'boolean' }, ...serverOptions }, 1);
  if (values.help) return io.out(actionHelp), ExitCode.Ok;
  const id = required(positionals[0], `the campaign ID (fota campaign ${name} ID)`);
  if (values.at !== undefined && name !== 'start') throw new UsageError('--at is for fota campaign start (a scheduled start)');
  if (name === 'force') required(values.reason, '--reason TEXT (why the campaign may ignore its maintenance window)');
  const checked = (name === 'force' ? forceActionSchema : name === 'start' ? startActionSchema : operatorActionSchema).safeParse({ ...optional('reason', values.reason), ...optional('startAt', values.at) });
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new UsageError(`${issue?.path[0] === 'startAt' ? '--at' : '--reason'} ${issue?.message ?? 'is invalid'}${issue?.path[0] === 'startAt' ? ' (ISO 8601 with a zone, e.g. 2026-12-24T22:00:00Z)' : ''}`);
  }
  const client = clientFrom(values);
  const body = { ...optional('reason', values.reason), ...optional('startAt', values.at) };
  const view = await callServer(client, 'POST', actionPath(id, name), viewSchema, Object.keys(body).length === 0 ? undefined : { json: body });
  io.out(values.json ? `${JSON.stringify(view, null, 2)}\n` : drawCampaign(view));
  return ExitCode.Ok;
}

async function rollback(args: string[], io: Output): Promise<number> {
  const { values, positionals } = parseOptions(args, { reason: { type: 'string' }, ...serverOptions }, 1);
  if (values.help) return io.out(rollbackHelp), ExitCode.Ok;
  const id = required(positionals[0], 'the campaign ID (fota campaign rollback ID)');
  const created = await callServer(clientFrom(values), 'POST', `/api/v1/campaigns/${encodeURIComponent(id)}/rollback`, z.object({ id: z.string(), buildId: z.string(), version: z.string(), devices: z.number() }), values.reason === undefined ? undefined : { json: { reason: values.reason } });
  io.err(`created rollback campaign ${created.id} (a draft): ${created.devices} device${created.devices === 1 ? '' : 's'} back to ${created.version} (build ${created.buildId}); start it with: fota campaign start ${created.id}\n`);
  io.out(`${created.id}\n`);
  return ExitCode.Ok;
}

async function status(args: string[], io: Output): Promise<number> {
  const { values, positionals } = parseOptions(withWatchValue(args), { watch: { type: 'string' }, json: { type: 'boolean' }, ...serverOptions }, 1);
  if (values.help) return io.out(statusHelp), ExitCode.Ok;
  const id = required(positionals[0], 'the campaign ID (fota campaign status ID)');
  const watchSeconds = values.watch === undefined ? undefined : watchOption(values.watch);
  const client = clientFrom(values);
  const path = `/api/v1/campaigns/${encodeURIComponent(id)}`;
  const render = (view: View) => (values.json ? `${JSON.stringify(view, null, watchSeconds === undefined ? 2 : undefined)}\n` : drawCampaign(view));
  if (watchSeconds === undefined) {
    io.out(render(await callServer(client, 'GET', path, viewSchema)));
    return ExitCode.Ok;
  }
  // Output only says whether stderr is a terminal; for the real process stdout must be one
  // too, so `status --watch > log` gets plain blocks rather than escape codes.
  const inPlace = !values.json && io.interactive && (io !== processOutput || Boolean(process.stdout.isTTY));
  for (let first = true; ; first = false) {
    const view = await callServer(client, 'GET', path, viewSchema);
    const finished = view.state === 'completed' || view.state === 'aborted';
    const footer = values.json || finished ? '' : `(every ${watchSeconds} s until completed or aborted; Ctrl-C to stop)\n`;
    if (inPlace) io.out(`\x1b[H\x1b[2J${render(view)}${footer}`);
    else io.out(`${first || values.json ? '' : '\n'}${render(view)}`);
    if (finished) return ExitCode.Ok;
    await new Promise((resolve) => setTimeout(resolve, watchSeconds * 1000));
  }
}

async function list(args: string[], io: Output): Promise<number> {
  const { values } = parseOptions(args, { state: { type: 'string' }, ...pageOptions, ...serverOptions });
  if (values.help) return io.out(listHelp), ExitCode.Ok;
  const client = clientFrom(values);
  const listed = await fetchList(client, '/api/v1/campaigns', { state: values.state }, campaignSummarySchema.loose(), values);
  const campaigns = listed.items;
  const more = () => listed.nextCursor !== null && io.err(moreHint('campaigns', listed.nextCursor));
  if (values.json) return io.out(`${JSON.stringify(listed, null, 2)}\n`), ExitCode.Ok;
  if (campaigns.length === 0) return io.err(values.cursor === undefined && values.state === undefined ? 'no campaigns yet (fota campaign create --help)\n' : 'no campaigns\n'), ExitCode.Ok;
  const rows = campaigns.map((c) => {
    const t = tally(c.totals);
    return [
      c.id,
      c.name,
      campaignBadge(c).words,
      `${c.model} -> ${c.kind === 'configuration' ? 'configuration ' : ''}${c.targetVersion}`,
      `${t.total} devices: ${countWords(t)}`,
    ];
  });
  io.out(table(rows));
  more();
  return ExitCode.Ok;
}

// ---- options ----

/** `--watch` takes an optional value, which parseArgs cannot express: give it one. */
function withWatchValue(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg !== '--watch') {
      out.push(arg);
      continue;
    }
    const next = args[i + 1];
    if (next !== undefined && /^\d+(\.\d+)?$/.test(next)) {
      out.push(`--watch=${next}`);
      i++;
    } else out.push(`--watch=${DEFAULT_WATCH_SECONDS}`);
  }
  return out;
}

function watchOption(value: string): number {
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(seconds >= 0.1)) throw new UsageError(`--watch takes a number of seconds (at least 0.1), got ${value}`);
  return seconds;
}

export async function cohortFrom(values: { model?: string; versions?: string; tags?: string; devices?: string; 'devices-file'?: string }) {
  if (values.devices !== undefined && values['devices-file'] !== undefined) throw new UsageError('give --devices ID,ID or --devices-file FILE, not both');
  const deviceIds = values['devices-file'] === undefined ? listOption(values.devices, '--devices') : await deviceIdsFrom(values['devices-file']);
  return {
    ...optional('model', values.model),
    ...optional('versions', listOption(values.versions, '--versions')),
    ...optional('tags', listOption(values.tags, '--tags')),
    ...optional('deviceIds', deviceIds),
  };
}

function listOption(value: string | undefined, flag: string): string[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(',').map((v) => v.trim()).filter(Boolean);
  if (items.length === 0) throw new UsageError(`${flag} needs at least one value (comma-separated), got ${JSON.stringify(value)}`);
  return [...new Set(items)];
}

async function deviceIdsFrom(path: string): Promise<string[]> {
  await statInputFile(path, 'devices file');
  const ids = (await readFile(path, 'utf8'))
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (ids.length === 0) throw new UsageError(`--devices-file ${path} lists no device ids (one per line)`);
  return [...new Set(ids)];
}

const STAGE = /^(\d+(?:\.\d+)?)(!?)$/;

/** `10!,50,100`: cumulative percents rising to 100; `!` = the stage needs approval. */
export function parseStages(text: string): Array<{ percent: number; requiresApproval: boolean }> {
  const form = 'cumulative percents rising to 100, ! after those that need approval, e.g. --stages 1,10!,50!,100';
  const stages = text.split(',').map((item) => {
    const match = STAGE.exec(item.trim());
    const percent = Number(match?.[1]);
    if (!match || !(percent > 0 && percent <= 100)) throw new UsageError(`--stages: ${JSON.stringify(item.trim())} is not a stage; give ${form}`);
    return { percent, requiresApproval: match[2] === '!' };
  });
  if (stages.length > 20) throw new UsageError(`--stages: at most 20 stages, got ${stages.length}`);
  stages.forEach((stage, i) => {
    const before = stages[i - 1];
    if (before && stage.percent <= before.percent) {
      throw new UsageError(`--stages: ${stage.percent} after ${before.percent}; stages are ${form}`);
    }
  });
  const last = stages.at(-1);
  if (last?.percent !== 100) throw new UsageError(`--stages: the last stage is ${last?.percent ?? 'missing'}, it must be 100; stages are ${form}`);
  return stages;
}

const DURATION = /^(\d+(?:\.\d+)?)([smhd])$/;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `30s`, `10m`, `2h`, `1d` in seconds. */
export function durationSeconds(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const match = DURATION.exec(value.trim());
  if (!match) throw new UsageError(`${flag} takes a duration: a number with s, m, h or d (30s, 10m, 2h), got ${JSON.stringify(value)}`);
  return Number(match[1]) * (UNIT_SECONDS[match[2] ?? 's'] ?? 1);
}

function shareOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)(%?)$/.exec(value.trim());
  const share = match ? Number(match[1]) / (match[2] ? 100 : 1) : Number.NaN;
  if (!(share >= 0 && share <= 1)) throw new UsageError(`${flag} takes a share from 0 to 1 or a percent (0.95 or 95%), got ${JSON.stringify(value)}`);
  return share;
}

const DAY_NAMES: Record<string, Weekday> = { mon: 'mon', tue: 'tue', wed: 'wed', thu: 'thu', fri: 'fri', sat: 'sat', sun: 'sun', monday: 'mon', tuesday: 'tue', wednesday: 'wed', thursday: 'thu', friday: 'fri', saturday: 'sat', sunday: 'sun' };
// Monday first, the way people write Mon-Fri; a range may wrap (Fri-Mon).
const WEEK: Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** `Mon-Fri 22:00-05:00 Europe/Berlin` -> the API's {timeZone, days, start, end}. */
export function parseWindow(text: string): MaintenanceWindow {
  const bad = (why: string) =>
    new UsageError(`--window ${why}; the form is "DAYS HH:MM-HH:MM ZONE", e.g. "Mon-Fri 22:00-05:00 Europe/Berlin" (DAYS: Mon-Fri, Sat,Sun or daily; a 24-hour clock; an IANA time zone)`);
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 3) throw bad(`has ${parts.length} part${parts.length === 1 ? '' : 's'}, not 3: ${JSON.stringify(text)}`);
  const [daysText = '', timesText = '', timeZone = ''] = parts;
  const days = new Set<Weekday>();
  if (daysText.toLowerCase() === 'daily') WEEK.forEach((d) => days.add(d));
  else {
    for (const item of daysText.toLowerCase().split(',')) {
      const [from, to, extra] = item.split('-');
      const start = DAY_NAMES[from ?? ''];
      const end = to === undefined ? start : DAY_NAMES[to];
      if (!start || !end || extra !== undefined) throw bad(`days ${JSON.stringify(daysText)} are not days`);
      for (let i = WEEK.indexOf(start); ; i = (i + 1) % 7) {
        const day = WEEK[i];
        if (day) days.add(day);
        if (day === end) break;
      }
    }
  }
  const times = /^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$/.exec(timesText);
  const hhmm = (h: string | undefined, m: string | undefined) => (Number(h) < 24 && Number(m) < 60 ? `${(h ?? '').padStart(2, '0')}:${m ?? ''}` : undefined);
  const start = hhmm(times?.[1], times?.[2]);
  const end = hhmm(times?.[3], times?.[4]);
  if (!start || !end) throw bad(`times ${JSON.stringify(timesText)} are not HH:MM-HH:MM`);
  if (!isKnownTimeZone(timeZone)) throw bad(`time zone ${JSON.stringify(timeZone)} is unknown`);
  return { timeZone, days: WEEKDAYS.filter((d) => days.has(d)), start, end };
}

const MODES: Record<string, 'install' | 'twoStep' | 'downloadOnly'> = { install: 'install', 'two-step': 'twoStep', 'download-only': 'downloadOnly' };

/** Bytes per second: a number with an optional k, M or G (powers of 1000). */
export function rateOption(value: string): number {
  const match = /^(\d+(?:\.\d+)?)([kMG]?)$/.exec(value.trim());
  if (!match) throw new UsageError(`--bandwidth must be bytes per second, e.g. 8M, 500k or 2000000, got ${value}`);
  const scale = { '': 1, k: 1e3, M: 1e6, G: 1e9 }[match[2] ?? ''] ?? 1;
  return Math.round(Number(match[1]) * scale);
}

/** --app COMPONENT@VERSION (install), an application id (install it), or COMPONENT with --remove, --activate or --deactivate. */
function appOption(values: { app?: string | undefined; remove?: boolean | undefined; activate?: boolean | undefined; deactivate?: boolean | undefined }): { operation: 'install' | 'remove' | 'activate' | 'deactivate'; id?: string; component?: string; version?: string } | undefined {
  const flags = (['remove', 'activate', 'deactivate'] as const).filter((f) => values[f]);
  if (values.app === undefined) {
    if (flags.length > 0) throw new UsageError(`--${flags[0] ?? 'remove'} goes with --app COMPONENT`);
    return undefined;
  }
  if (flags.length > 1) throw new UsageError('give one of --remove, --activate or --deactivate');
  const operation = flags[0] ?? 'install';
  const at = values.app.lastIndexOf('@');
  if (operation === 'install') {
    if (/^app_[A-Za-z0-9_-]+$/.test(values.app)) return { operation, id: values.app };
    if (at <= 0 || at === values.app.length - 1) throw new UsageError(`--app takes COMPONENT@VERSION (e.g. com.acme.nav@2.1) or an application id, got ${values.app}`);
    return { operation, component: values.app.slice(0, at), version: values.app.slice(at + 1) };
  }
  if (at >= 0) throw new UsageError(`--${operation} acts on whatever version is deployed: give --app COMPONENT without @VERSION`);
  return { operation, component: values.app };
}

function modeOption(value: string): 'install' | 'twoStep' | 'downloadOnly' {
  const mode = MODES[value];
  if (!mode) throw new UsageError(`--mode must be install, two-step or download-only, got ${value}`);
  return mode;
}

const fieldFlags: Record<string, string> = {
  name: '--name',
  buildId: '--build',
  profile: '--profile',
  app: '--app',
  'app.component': '--app',
  'app.version': '--app',
  'app.id': '--app',
  'cohort.model': '--model',
  'cohort.versions': '--versions',
  'cohort.tags': '--tags',
  'cohort.deviceIds': '--devices',
  stages: '--stages',
  successThreshold: '--success',
  failureThreshold: '--failure',
  minSample: '--min-sample',
  soakSeconds: '--soak',
  timeoutMinutes: '--timeout',
  maintenanceWindow: '--window',
  forced: '--force',
  'forced.reason': '--force',
  startAt: '--start-at',
  bandwidthBytesPerSecond: '--bandwidth',
  confirm: '--confirm',
  'confirm.text': '--confirm',
  'confirm.maxSeconds': '--confirm-wait',
};

/** The server checks the body too; checking here first names the flag, not the field. */
function checkCreateBody(body: unknown): void {
  const result = createCampaignSchema.safeParse(body);
  if (result.success) return;
  const issue = result.error.issues[0];
  const path = issue?.path.map(String) ?? [];
  const key = [path.slice(0, 2).join('.'), path[0] ?? ''].find((k) => k in fieldFlags) ?? '';
  const where = path.length > 2 && key === 'cohort.deviceIds' ? ` (${JSON.stringify(lookup(body, path))})` : '';
  throw new UsageError(`${fieldFlags[key] ?? (path.join('.') || 'the campaign')} ${issue?.message ?? 'is invalid'}${where}`);
}

function lookup(value: unknown, path: string[]): unknown {
  return path.reduce<unknown>((v, key) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined), value);
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function actionPath(id: string, name: Action): string {
  return `/api/v1/campaigns/${encodeURIComponent(id)}/${name}`;
}

// ---- drawing ----

interface Tally {
  succeeded: number;
  failed: number;
  /** Commanded, downloading, installing: a device is working on it. */
  inFlight: number;
  /** Chosen, not yet commanded (at the device's next session inside the window). */
  scheduled: number;
  pending: number;
  canceled: number;
  total: number;
}

function tally(counts: StageView['counts']): Tally {
  const inFlight = counts.commanded + counts.downloading + counts.installing;
  return {
    succeeded: counts.succeeded,
    failed: counts.failed,
    inFlight,
    scheduled: counts.scheduled,
    pending: counts.pending,
    canceled: counts.canceled,
    total: counts.succeeded + counts.failed + inFlight + counts.scheduled + counts.pending + counts.canceled,
  };
}

function countWords(t: Tally, canceled: 'always' | 'when-any' = 'when-any'): string {
  return `succeeded ${t.succeeded}  failed ${t.failed}  in flight ${t.inFlight}  scheduled ${t.scheduled}  pending ${t.pending}${t.canceled || canceled === 'always' ? `  canceled ${t.canceled}` : ''}`;
}

const SEGMENTS = [
  ['#', 'succeeded'],
  ['x', 'failed'],
  ['=', 'in flight'],
  [':', 'scheduled'],
  ['.', 'pending'],
  ['-', 'canceled'],
] as const;

export const legend = `legend: # succeeded  x failed  = in flight (commanded, downloading, installing)  : scheduled  . pending  - canceled;  N%! needs approval\n`;

/**
 * A bar of `width` cells split in proportion to `parts` (largest remainders), where every
 * non-zero part keeps at least one cell: one failure among a thousand must show.
 */
export function drawBar(parts: readonly number[], width = BAR_WIDTH): string {
  const total = parts.reduce((a, b) => a + b, 0);
  if (total === 0) return ' '.repeat(width);
  const exact = parts.map((p) => (p * width) / total);
  const cells = exact.map(Math.floor);
  let left = width - cells.reduce((a, b) => a + b, 0);
  for (const i of exact.map((e, i) => ({ i, rest: e - Math.floor(e) })).sort((a, b) => b.rest - a.rest).map((e) => e.i)) {
    if (left <= 0) break;
    cells[i] = (cells[i] ?? 0) + 1;
    left--;
  }
  parts.forEach((part, i) => {
    if (part === 0 || (cells[i] ?? 0) > 0) return;
    const widest = cells.indexOf(Math.max(...cells));
    if ((cells[widest] ?? 0) > 1) {
      cells[widest] = (cells[widest] ?? 0) - 1;
      cells[i] = 1;
    }
  });
  return cells.map((n, i) => (SEGMENTS[i]?.[0] ?? '?').repeat(n)).join('');
}


export function drawCampaign(view: View): string {
  const lines: string[] = [];
  const current = view.stages[view.currentStage];
  const currentWords = current?.state === 'awaitingApproval' ? approvalWaitWords(view) : current ? stageLabel(view, current) : '';
  const where = current ? `stage ${current.index + 1} of ${view.stages.length} ${currentWords}` : '';
  const state: Record<View['state'], string> = {
    draft: view.scheduledFor ? `draft, scheduled for ${view.scheduledFor} (fota campaign abort ${view.id} calls it off)` : `draft, not started (fota campaign start ${view.id})`,
    starting: `starting: ${view.cohortSize} devices placed so far`,
    running: `running, ${where}`,
    paused: `paused at stage ${view.currentStage + 1} of ${view.stages.length}`,
    completed: 'completed',
    aborted: view.startedAt ? `aborted at stage ${view.currentStage + 1} of ${view.stages.length}` : 'aborted before it started',
  };
  lines.push(`campaign ${view.id} ${JSON.stringify(view.name)}: ${state[view.state]}`);
  const reason = pauseReasonWords(view);
  if (reason) lines.push(`  ${view.state === 'aborted' ? 'aborted' : 'reason'}: ${reason}`);
  if (view.state === 'paused') lines.push(`  resume with: fota campaign resume ${view.id}`);
  const onTarget = view.kind === 'application' ? 'with nothing to do' : `already on ${view.targetVersion}`;
  const leftOut = view.state === 'draft' ? '' : view.state === 'starting' ? ` (so far left out: ${view.alreadyCurrent} ${onTarget}, ${view.busy} busy with another deployment)` : ` (left out: ${view.alreadyCurrent} ${onTarget}, ${view.busy} busy with another deployment)`;
  const payload = view.kind === 'application' ? `application${view.app?.id ? ` ${view.app.id}` : ''}` : view.buildId === null ? 'configuration profile' : `build ${view.buildId}`;
  lines.push(`  target: ${view.model} ${view.targetVersion} (${payload}); ${view.state === 'draft' ? 'cohort not yet taken' : `${view.cohortSize} devices`}${leftOut}`);
  if (view.securityHeld > 0) lines.push(`  ${view.securityHeldReason ?? `${view.securityHeld} left out for their security version`}`);
  const soak = view.soakSeconds > 0 ? ` after a ${formatDuration(view.soakSeconds)} soak` : '';
  const flags = [view.fourEyes ? 'four eyes' : '', view.dynamic ? 'dynamic cohort' : ''].filter(Boolean);
  lines.push(
    `  rules: next stage at ${percent(view.successThreshold)} succeeded${soak}; pause above ${percent(view.failureThreshold)} failed of at least ${view.minSample} results; device timeout ${formatDuration(view.timeoutMinutes * 60)}${flags.length ? `; ${flags.join(', ')}` : ''}`,
  );
  if (view.maintenanceWindow) lines.push(`  window: ${formatWindow(view.maintenanceWindow)}${view.forcedReason ? ' (ignored: forced)' : windowNowWords(view.windowNow)}`);
  if (view.mode !== 'install') lines.push(`  mode: ${view.mode === 'twoStep' ? 'two-step (download at once, install when the window opens)' : `download-only (devices download and wait; fota campaign install ${view.id} lets them install)`}`);
  if (view.bandwidthBytesPerSecond !== null) lines.push(`  bandwidth budget: ${formatBytes(view.bandwidthBytesPerSecond)} bytes/s for the whole campaign (per server process)`);
  if (view.forcedReason) lines.push(`  forced (devices commanded at any time): ${view.forcedReason}`);
  const width = String(view.stages.length).length;
  for (const stage of view.stages) {
    const t = tally(stage.counts);
    const of = t.total || stage.size;
    const label = `${`${stage.percent}%`.padStart(5)}${stage.requiresApproval ? '!' : ' '}`;
    const counts = view.state === 'draft' ? 'devices placed at start' : `${countWords(t)}  (of ${of})`;
    lines.push(`stage ${String(stage.index + 1).padEnd(width)} ${label} ${stageLabel(view, stage).padEnd(17)}  [${drawBar([t.succeeded, t.failed, t.inFlight, t.scheduled, t.pending, t.canceled])}]  ${counts}`);
    const failures = Object.entries(stage.failures).sort(([a, m], [b, n]) => n - m || a.localeCompare(b));
    if (failures.length) lines.push(`    failures: ${failures.map(([code, n]) => `${code} ×${n}`).join(', ')}`);
    if (stage.state === 'awaitingApproval' && view.state !== 'aborted') {
      lines.push(`    ${approvalWaitWords(view)}: fota campaign approve ${view.id}`);
    }
    if (stage.approvedBy) lines.push(`    approved by ${stage.approvedBy}${stage.approvedAt ? ` at ${stage.approvedAt}` : ''}`);
    for (const o of stage.overrides) lines.push(`    ${overrideWords(o)}`);
  }
  const t = tally(view.totals);
  lines.push(`  totals: ${countWords(t, 'always')}  (of ${t.total}); ${formatBytes(view.bytesServed)} bytes served`);
  const times = [`created by ${creatorName(view)} at ${view.createdAt}`, view.startedAt ? `started ${view.startedAt}` : '', view.finishedAt ? `finished ${view.finishedAt}` : ''].filter(Boolean);
  lines.push(`  ${times.join(', ')}`);
  return `${lines.join('\n')}\n${legend}`;
}

export function describePreview(preview: CohortPreview, application = false): string {
  const lines = [`cohort: ${preview.devices} device${preview.devices === 1 ? '' : 's'}`];
  const versions = Object.entries(preview.byVersion).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }));
  const width = Math.max(0, ...versions.map(([v]) => (v || '(unknown)').length));
  for (const [version, n] of versions) lines.push(`  on ${(version || '(unknown)').padEnd(width)}  ${n}`);
  if (preview.alreadyCurrent !== undefined) lines.push(`  ${application ? 'with nothing to do' : "already on the build's version"} (left out at start): ${preview.alreadyCurrent}`);
  if (preview.securityHeld) lines.push(`  on a build of higher security version (left out at start: they would refuse it): ${preview.securityHeld}`);
  if (preview.inOtherCampaigns.length === 0) lines.push('  in other campaigns: none');
  else {
    for (const other of preview.inOtherCampaigns) lines.push(`  in campaign ${other.campaignId}: ${other.devices} device${other.devices === 1 ? '' : 's'}`);
    lines.push('  a start is refused while any device is in another running or paused campaign');
  }
  return `${lines.join('\n')}\n`;
}

function formatDuration(seconds: number): string {
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60]] as const) if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  return `${Math.round(seconds * 10) / 10}s`;
}

const DAY_LABEL = (d: Weekday) => `${d.charAt(0).toUpperCase()}${d.slice(1)}`;

function windowNowWords(now: View['windowNow']): string {
  if (!now) return '';
  if (now.open) return ' (open now)';
  return now.opensLocal ? ` (closed now; opens ${now.opensLocal}${now.opensAt ? `, ${now.opensAt}` : ''})` : ' (closed now)';
}

function formatWindow(window: MaintenanceWindow): string {
  const days = WEEK.filter((d) => window.days.includes(d));
  const first = WEEK.indexOf(days[0] ?? 'mon');
  const contiguous = days.length > 2 && days.every((d, i) => WEEK.indexOf(d) === first + i);
  const text = days.length === 7 ? 'daily' : contiguous ? `${DAY_LABEL(days[0] ?? 'mon')}-${DAY_LABEL(days.at(-1) ?? 'sun')}` : days.map(DAY_LABEL).join(',');
  return `${text} ${window.start}-${window.end} ${window.timeZone}`;
}

function table(rows: string[][]): string {
  const widths = rows.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), []);
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n') + '\n';
}
