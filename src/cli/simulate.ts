// `fota simulate`: a fleet of simulated FUMO devices (src/device/simulate) against a
// server, with a live count of what the devices do: one redrawn line on a terminal, a
// JSON object per interval elsewhere, and a JSON summary as the last line of stdout.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadClientConfig } from '../config.ts';
import { ALLOW_PRIVATE_WEBHOOKS_SETTING, WEBHOOK_ADDRESS_RULE } from '../omadm/webhook-address.ts';
import { type ApiAccess, fetchManufacturerKeys } from '../device/simulate/api.ts';
import { readExport } from '../device/simulate/bootstrap.ts';
import { type Fault, faultsHelp, parseFaults, parseShare } from '../device/simulate/faults.ts';
import { Fleet, type FleetCounts, type FleetOptions } from '../device/simulate/fleet.ts';
import { readPinnedRoot, readTrust, withOfflineRoot } from '../device/trust.ts';
import { AppError } from '../errors.ts';
import { clientFrom, serverHelp } from './client.ts';
import { ExitCode, integerOption, type Output, parseOptions, required, UsageError } from './io.ts';
import { ProgressLine } from './progress.ts';

export const simulateHelp = `Usage: fota simulate --devices N --model M --version V --image FILE
                     (--pubkey KEYS.json | --manufacturer NAME) [--root ROOT.json]
                     [--faults SPEC]
                     [--until-version V2] [--duration SECONDS] [--poll SECONDS]
                     [--concurrency K] [--data DIR] [--id-prefix P] [--tags a,b]
                     [--no-register] [--no-webhook] [--webhook-host H]
                     [--webhook-port P] [--webhook-url URL] [--status-every SECONDS]
                     [--request-update SHARE] [--app ID@V=FILE ...] [--user-reject SHARE]
                     [--user-timeout SHARE] [--log-bytes N] [--wbxml] [--verbose]
       fota simulate --bootstrap DIR --version V --image FILE (--pubkey ... | ...)
                     [--lose-credentials SHARE] [...]

Runs N simulated FUMO devices (the reference agent of \`fota device run\`) in one
process against a fota server. Each device has its own id (P0001, P0002, ...; default
prefix sim-), DM credentials, FUMO state and A/B slots under --data DIR (default: a new
temporary dir); it starts on --image as version --version. Identical images are stored
once and hard-linked into the devices' slots. A later run with the same --data continues
where the fleet stopped.

Devices are registered through the API (operator token) with a webhook on this machine
(--webhook-host, default 127.0.0.1), where the server's Package 0 makes a device call in
at once (a server accepts a webhook on a loopback or private address only when it runs
with FOTA_WEBHOOK_ALLOW_PRIVATE=true); otherwise devices poll every --poll seconds (default 30, +-50% jitter). At most
--concurrency devices (default 32) are in a session or job at once. --no-register is for
a fleet registered by an earlier run from the same --data (the device passwords derive
from a secret kept there); --no-webhook registers no webhook, so devices only poll.

--server URL1,URL2,... spreads the fleet over several servers on one database with no
load balancer in front: each new DM session of the fleet goes to the next URL in turn;
registration and keys go to the first.

--pubkey is the manufacturer key list devices pin (as served at
/api/v1/manufacturers/NAME/keys, or a .pub.json); with --manufacturer NAME alone the
keys are fetched from the server. --root is the manufacturer's root of offline keys
(fota keys root): devices then also require its target statement in every package and
refuse one without it (FUMO 404), as fota device run --root does.

--request-update SHARE: that share of the devices (0.2 or 20%, spread over the ids) asks
for an update in its first session, as its user would (fota device run --user-request);
the server answers with the newest build released to its cohort (fota release create).
The summary counts them in updateRequests {asked, offered}.

--app ID@V=FILE (repeatable): every device of a new fleet ships with application ID at
version V, whose bytes are FILE (as uploaded with fota app upload, so deltas apply). The
server reconciles them against the model's baseline (fota baseline set) over SCOMO; the
summary counts the devices' application operations in appResultsByCode (1200 success).

--user-reject SHARE, --user-timeout SHARE: when work asks the device's user first
(confirm: a firmware deployment or campaign, an application install or baseline, a
configuration profile or campaign, a helpdesk query or fix), that share of the devices' users rejects, and that share stays silent
(the default response, else a timeout); the rest accept. The same devices answer the
same way on every run; they count as done for --until-version once they declined. The
summary counts the answers in userAnswers.

--log-bytes N: each device has a log of N bytes at ./DevDetail/Ext/Log, which the server
reads as a DM large object (chunked Results) when it passes the server's MaxMsgSize.

--bootstrap DIR: a fleet flashed from an enrollment export (fota enroll export ... --out
DIR): one device per row of DIR/manifest.csv, each starting from its DEVID.dm.wbxml
alone (server address and credentials from its ./DMAcc; --devices and --model come from
the manifest, and nothing is registered: the batch did that). Devices of a claim batch
get their own credentials in their first session. --lose-credentials SHARE: that share
of them acknowledges the new credentials but loses them, and is locked out afterwards.

--faults SPEC: ${faultsHelp.replace(/\n/g, '\n  ')}

Stops when every device without a failing fault runs --until-version and every device
with one has reported its failure (exit 0; 1 if --duration or Ctrl-C came first), after
--duration seconds, or on Ctrl-C. On a terminal a status line is redrawn; otherwise a
JSON line {"type":"progress",...} is printed every --status-every seconds (default 5).
The last line is a JSON summary {"type":"summary", devices, byVersion, failuresByCode,
faults, sessions, bytesDownloaded, ...}.

${serverHelp}
`;

// The fleet's webhook listens on this machine (127.0.0.1 by default), which a server
// refuses as a device webhook unless it runs with the allow setting.
const webhookRefusedHint = `The server refuses device webhooks on loopback and private addresses. Either start it
with ${ALLOW_PRIVATE_WEBHOOKS_SETTING}=true (a test server, or one on this machine), give
--webhook-host/--webhook-url a public address the server can reach, or use --no-webhook
(devices then only poll).
`;

export async function simulateCommand(args: string[], io: Output): Promise<number> {
  const { values } = parseOptions(args, {
    server: { type: 'string' },
    token: { type: 'string' },
    devices: { type: 'string' },
    model: { type: 'string' },
    version: { type: 'string' },
    image: { type: 'string' },
    pubkey: { type: 'string' },
    manufacturer: { type: 'string' },
    faults: { type: 'string' },
    poll: { type: 'string' },
    concurrency: { type: 'string' },
    data: { type: 'string' },
    'until-version': { type: 'string' },
    duration: { type: 'string' },
    tags: { type: 'string' },
    'request-update': { type: 'string' },
    app: { type: 'string', multiple: true },
    'user-reject': { type: 'string' },
    'user-timeout': { type: 'string' },
    'log-bytes': { type: 'string' },
    'id-prefix': { type: 'string' },
    'no-register': { type: 'boolean' },
    'no-webhook': { type: 'boolean' },
    'webhook-host': { type: 'string' },
    'webhook-port': { type: 'string' },
    'webhook-url': { type: 'string' },
    'status-every': { type: 'string' },
    wbxml: { type: 'boolean' },
    verbose: { type: 'boolean' },
    root: { type: 'string' },
    bootstrap: { type: 'string' },
    'lose-credentials': { type: 'string' },
  });
  if (values.help) return io.out(simulateHelp), ExitCode.Ok;
  const flashed = values.bootstrap === undefined ? undefined : await readExport(resolve(values.bootstrap));
  const devices = flashed ? flashed.ids.length : (integerOption(required(values.devices, '--devices N'), '--devices', 1) ?? 1);
  const model = flashed && values.model === undefined ? flashed.model : required(values.model, '--model M');
  const loseShare = values['lose-credentials'] === undefined ? undefined : parseShare(values['lose-credentials']);
  if (values['lose-credentials'] !== undefined && (loseShare === undefined || !flashed)) throw new UsageError(`--lose-credentials takes a share in (0, 1] or a percentage such as 5%, with --bootstrap DIR; got ${values['lose-credentials']}`);
  const version = required(values.version, '--version V');
  const image = resolve(required(values.image, '--image FILE'));
  if (values.pubkey === undefined && values.manufacturer === undefined) throw new UsageError('missing --pubkey KEYS.json or --manufacturer NAME (the keys devices pin)');
  const faults = values.faults === undefined ? [] : parseFaultsOption(values.faults);
  const requestShare = values['request-update'] === undefined ? undefined : parseShare(values['request-update']);
  if (values['request-update'] !== undefined && requestShare === undefined) throw new UsageError(`--request-update takes a share in (0, 1] or a percentage such as 20%, got ${values['request-update']}`);
  const shareOf = (name: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const share = parseShare(text);
    if (share === undefined) throw new UsageError(`${name} takes a share in (0, 1] or a percentage such as 20%, got ${text}`);
    return share;
  };
  const rejectShare = shareOf('--user-reject', values['user-reject']);
  const timeoutShare = shareOf('--user-timeout', values['user-timeout']);
  if ((rejectShare ?? 0) + (timeoutShare ?? 0) > 1) throw new UsageError('--user-reject and --user-timeout add up to more than 1');
  const logBytes = integerOption(values['log-bytes'], '--log-bytes', 0);
  const poll = numberOption(values.poll, '--poll') ?? 30;
  const duration = numberOption(values.duration, '--duration');
  const statusEvery = numberOption(values['status-every'], '--status-every') ?? 5;
  const concurrency = integerOption(values.concurrency, '--concurrency', 1);
  const webhookPort = integerOption(values['webhook-port'], '--webhook-port', 1);
  if (webhookPort !== undefined && webhookPort > 65535) throw new UsageError(`--webhook-port must be at most 65535, got ${webhookPort}`);
  const tags = values.tags === undefined ? undefined : values.tags.split(',').map((t) => t.trim()).filter(Boolean);
  const apps = (values.app ?? []).map(parseAppOption);

  // A token is needed to register devices and to fetch keys; a fleet registered before,
  // pinning a key file, needs none.
  const register = !values['no-register'] && !flashed;
  const needsToken = register || values.pubkey === undefined;
  const servers = values.server === undefined ? undefined : serverList(values.server);
  const api: ApiAccess | undefined = needsToken ? clientFrom({ ...values, server: servers?.[0] }) : undefined;
  const server = api?.server ?? servers?.[0] ?? serverOption(undefined);
  const manufacturer = values.manufacturer;
  const delivery = values.pubkey !== undefined ? await readTrust(values.pubkey) : await keysFromServer(api, manufacturer);
  const trust = withOfflineRoot(delivery, values.root === undefined ? undefined : await readPinnedRoot(values.root));
  const dataDir = resolve(values.data ?? (await mkdtemp(join(tmpdir(), 'fota-simulate-'))));

  const progress = new ProgressLine(io);
  let lastLine = '';
  const say = (line: string) => {
    if (io.interactive && lastLine) io.err(`\r\x1b[2K${line}\n${lastLine}`);
    else io.err(`${line}\n`);
  };
  const options: FleetOptions = {
    server,
    ...(servers && servers.length > 1 ? { servers } : {}),
    devices,
    model,
    version,
    image,
    trust,
    dataDir,
    ...(manufacturer ? { manufacturer } : {}),
    ...(api ? { api } : {}),
    register,
    ...(values['id-prefix'] === undefined ? {} : { idPrefix: values['id-prefix'] }),
    ...(flashed ? { bootstrap: flashed } : {}),
    ...(loseShare === undefined ? {} : { loseCredentialsShare: loseShare }),
    ...(tags ? { tags } : {}),
    faults,
    ...(apps.length ? { apps } : {}),
    ...(requestShare === undefined ? {} : { requestShare }),
    ...(rejectShare === undefined && timeoutShare === undefined ? {} : { user: { ...(rejectShare === undefined ? {} : { rejectShare }), ...(timeoutShare === undefined ? {} : { timeoutShare }) } }),
    ...(logBytes === undefined ? {} : { logBytes }),
    pollSeconds: poll,
    ...(concurrency === undefined ? {} : { concurrency }),
    webhook: values['no-webhook']
      ? false
      : {
          ...(values['webhook-host'] ? { host: values['webhook-host'] } : {}),
          ...(webhookPort === undefined ? {} : { port: webhookPort }),
          ...(values['webhook-url'] ? { publicUrl: values['webhook-url'] } : {}),
        },
    ...(values.wbxml ? { encoding: 'wbxml' as const } : {}),
    log: say,
    ...(values.verbose ? { deviceLog: (id: string, line: string) => say(`${id}: ${line}`) } : {}),
  };

  say(`fota simulate: ${devices} device(s) of ${model} on ${version}, data in ${dataDir}${servers && servers.length > 1 ? `, sessions spread over ${servers.length} servers` : ''}`);
  let fleet: Fleet;
  try {
    fleet = await Fleet.create(options);
  } catch (err) {
    // The server said no (token, role, devices of another run): a refusal, not a usage error.
    if (err instanceof AppError && (err.code === 'UNAUTHORIZED' || err.code === 'FORBIDDEN' || err.code === 'CONFLICT')) {
      io.err(`fota: ${err.message}\n`);
      return ExitCode.Rejected;
    }
    if (err instanceof AppError && err.details?.rule === WEBHOOK_ADDRESS_RULE) {
      io.err(`fota: ${err.message}\n${webhookRefusedHint}`);
      return ExitCode.Rejected;
    }
    throw err;
  }
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const timers: NodeJS.Timeout[] = [];
  try {
    if (duration !== undefined) timers.push(setTimeout(onSignal, duration * 1000));
    if (io.interactive) {
      timers.push(
        setInterval(() => {
          lastLine = statusText(fleet.counts());
          progress.update(lastLine, 'fleet');
        }, 1000),
      );
    } else {
      timers.push(setInterval(() => io.out(`${JSON.stringify({ type: 'progress', ...fleet.counts() })}\n`), statusEvery * 1000));
    }
    fleet.start();
    const untilVersion = values['until-version'];
    if (untilVersion !== undefined) await fleet.until(untilVersion, stop.signal);
    else await new Promise((done) => stop.signal.addEventListener('abort', done, { once: true }));
  } finally {
    for (const timer of timers) clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    progress.done();
    await fleet.stop();
  }
  const summary = fleet.summary(values['until-version']);
  io.out(`${JSON.stringify({ type: 'summary', ...summary })}\n`);
  return summary.reached === false ? ExitCode.Rejected : ExitCode.Ok;
}

/** The one-line status on a terminal. */
export function statusText(counts: FleetCounts): string {
  const { states } = counts;
  const versions = Object.entries(counts.byVersion)
    .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
    .map(([v, n]) => `${v}: ${n}`)
    .join('  ');
  const failures = Object.entries(counts.failuresByCode).map(([code, n]) => `${code}: ${n}`);
  return [
    `[${Math.round(counts.elapsedSeconds)}s] ${counts.devices} devices`,
    `idle ${states.idle}  queued ${states.queued}  session ${states.session}  downloading ${states.downloading}  installing ${states.installing}`,
    versions,
    ...(failures.length ? [`failed ${failures.join('  ')}`] : []),
    `${counts.sessions} sessions  ${(counts.bytesDownloaded / 1048576).toFixed(1)} MiB${counts.errors ? `  ${counts.errors} errors` : ''}`,
  ].join(' | ');
}

async function keysFromServer(api: ApiAccess | undefined, manufacturer: string | undefined) {
  if (!api || manufacturer === undefined) throw new UsageError('missing --pubkey KEYS.json or --manufacturer NAME (the keys devices pin)');
  return fetchManufacturerKeys(api, manufacturer);
}

function parseFaultsOption(spec: string): Fault[] {
  try {
    return parseFaults(spec);
  } catch (err) {
    if (err instanceof AppError) throw new UsageError(`--faults: ${err.message}`);
    throw err;
  }
}

function numberOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(n > 0)) throw new UsageError(`${flag} must be a positive number of seconds, got ${value}`);
  return n;
}

/** --server URL, or URL1,URL2,... for a fleet spread over several servers. */
function serverList(value: string): string[] {
  const servers = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (servers.length === 0) throw new UsageError('--server must name one or more http:// or https:// URLs, separated by commas');
  return servers.map(serverOption);
}

function serverOption(server: string | undefined): string {
  if (server === undefined) return loadClientConfig().server.replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/.test(server)) throw new UsageError(`--server must be an http:// or https:// URL, got ${server}`);
  return server.replace(/\/+$/, '');
}

/** --app com.acme.maps@1.0=maps-1.0.apk */
function parseAppOption(text: string): { id: string; version: string; file: string } {
  const match = /^([^@=]+)@([^=]+)=(.+)$/.exec(text);
  if (!match?.[1] || !match[2] || !match[3]) throw new UsageError(`--app takes ID@VERSION=FILE, got ${text}`);
  return { id: match[1], version: match[2], file: resolve(match[3]) };
}
