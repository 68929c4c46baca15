// `fota device run`: the reference FUMO device agent as a command. It polls the server
// over OMA DM, and when told to, downloads, checks and installs a package into its A/B
// slots and reports the FUMO result. `--once` runs one poll (with its job and report).
import { resolve } from 'node:path';
import { DeviceAgent } from '../device/agent.ts';
import { AppError } from '../errors.ts';
import { describeFumoResult, isFumoSuccess } from '../omadm/fumo-results.ts';
import { readPinnedRoot, readTrust, withOfflineRoot } from '../device/trust.ts';
import { ExitCode, integerOption, type Output, parseOptions, required, UsageError } from './io.ts';

export const deviceHelp = `Usage: fota device run --server URL --id DEVID --model M --username U --password P
                       --image FILE --version V --pubkey PUB.json [--root ROOT.json]
                       [--hw-version H] [--data DIR]
                       [--poll SECONDS] [--once] [--manufacturer NAME] [--wbxml]
                       [--security-version N] [--request-update | --user-request]
                       [--log-bytes N] [--user accept|reject|silent]
       fota device run --bootstrap FILE --id DEVID --model M --image FILE --version V
                       --pubkey PUB.json [...]

--bootstrap FILE (first start only) flashes the device with a bootstrap document from
fota enroll export (DEVID.dm.wbxml or DEVID.cp.wbxml): its DM account (server address,
credentials) goes into the device's ./DMAcc, and --server, --username and --password are
then not needed. Credentials the server later replaces there (a claim) are kept in the
data dir and used from the next session on.

Runs the reference FUMO device agent against a fota server (OMA DM at URL/dm, md5
digest authentication). On its first start the agent copies --image into slot A of its
data dir (default ./fota-device-DEVID) and reports --version as its firmware (FwV);
later starts continue from the data dir (state.json, slot-a.bin, slot-b.bin, active)
and ignore --image and --version.

--pubkey is the manufacturer key the device pins: a .pub.json key file, or the list
served at /api/v1/manufacturers/NAME/keys. Packages signed by nothing it pins are
refused (FUMO 404) before any payload is fetched.

--root is the manufacturer's root of offline keys (fota keys root). With it the device
also requires, in every package, a target statement that k of those keys signed, that
has not expired, and whose image SHA-256 the patched image matches; without one the
package is refused with FUMO 404 before it is installed, whatever the server signed.
Key rotations the packages carry are followed (each signed by the keys before it) and
kept in the data dir.

--once runs one DM session, the FUMO job it starts and the session that reports the
result, then exits: 0 when every job succeeded (or none ran), 1 when a job failed (the
message names the FUMO result code). Without --once the agent polls every --poll seconds
(default 60) until interrupted.

--request-update asks the server for an update in the first session (Generic Alert 1226,
...firmwareupdate.devicerequest; --user-request: ...userrequest, the user asked). The
server answers in that session with the newest build released to the device's cohort,
or says why there is nothing to do; the answer is printed.

--log-bytes N gives the device a log of N bytes at ./DevDetail/Ext/Log; a Get of it
larger than the server's MaxMsgSize comes back as a DM large object (chunked Results).
--user says how the device's user answers the server's prompts (user-interaction alerts,
e.g. a deployment with confirm): accept (default), reject, or silent (the alert's
default response, else a timeout).
`;

export async function deviceCommand(args: string[], io: Output): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'list' || sub === 'show' || sub === 'tag') return (await import('./fleet.ts')).fleetCommand(sub, rest, io);
  if (sub === 'query') return (await import('./device-query.ts')).deviceQueryCommand(rest, io);
  if (sub !== 'run') throw new UsageError(sub === undefined ? 'missing subcommand: fota device run|list|show|tag|query ...' : `unknown subcommand: device ${sub} (run, list, show, tag or query)`);
  const { values } = parseOptions(rest, {
    server: { type: 'string' },
    id: { type: 'string' },
    model: { type: 'string' },
    manufacturer: { type: 'string' },
    username: { type: 'string' },
    password: { type: 'string' },
    image: { type: 'string' },
    version: { type: 'string' },
    pubkey: { type: 'string' },
    root: { type: 'string' },
    'hw-version': { type: 'string' },
    bootstrap: { type: 'string' },
    data: { type: 'string' },
    poll: { type: 'string' },
    once: { type: 'boolean' },
    wbxml: { type: 'boolean' },
    'security-version': { type: 'string' },
    'request-update': { type: 'boolean' },
    'user-request': { type: 'boolean' },
    'log-bytes': { type: 'string' },
    user: { type: 'string' },
  });
  if (values.help) return io.out(deviceHelp), ExitCode.Ok;
  const flashed = values.bootstrap !== undefined;
  const server = flashed ? values.server : required(values.server, '--server URL');
  if (server !== undefined && !/^https?:\/\//.test(server)) throw new UsageError(`--server must be an http:// or https:// URL, got ${server}`);
  const id = required(values.id, '--id DEVID');
  const poll = integerOption(values.poll, '--poll', 1) ?? 60;
  const securityVersion = integerOption(values['security-version'], '--security-version', 0);
  if (values['request-update'] && values['user-request']) throw new UsageError('give --request-update or --user-request, not both');
  const request = values['user-request'] ? ('user' as const) : values['request-update'] ? ('device' as const) : undefined;
  const logBytes = integerOption(values['log-bytes'], '--log-bytes', 0);
  const users = { accept: {}, reject: { rejectShare: 1 }, silent: { timeoutShare: 1 } } as const;
  if (values.user !== undefined && !Object.hasOwn(users, values.user)) throw new UsageError(`--user is accept, reject or silent, got ${values.user}`);
  const user = values.user === undefined ? undefined : users[values.user as keyof typeof users];
  const trust = withOfflineRoot(await readTrust(required(values.pubkey, '--pubkey PUB.json')), values.root ? await readPinnedRoot(values.root) : undefined);
  const controller = new AbortController();
  const agent = await DeviceAgent.open({
    ...(server === undefined ? {} : { serverUrl: server }),
    devId: id,
    model: required(values.model, '--model M'),
    ...(values.manufacturer ? { manufacturer: values.manufacturer } : {}),
    ...(flashed ? {} : { username: required(values.username, '--username U'), password: required(values.password, '--password P') }),
    ...(values.username && flashed ? { username: values.username } : {}),
    ...(values.password && flashed ? { password: values.password } : {}),
    ...(values.bootstrap ? { bootstrap: resolve(values.bootstrap) } : {}),
    dataDir: resolve(values.data ?? `fota-device-${id.replace(/[^A-Za-z0-9._-]/g, '_')}`),
    ...(values.image ? { image: values.image } : {}),
    ...(values.version ? { version: values.version } : {}),
    ...(securityVersion === undefined ? {} : { securityVersion }),
    trust,
    ...(values['hw-version'] ? { hwVersion: values['hw-version'] } : {}),
    ...(values.wbxml ? { encoding: 'wbxml' as const } : {}),
    ...(logBytes === undefined ? {} : { logBytes }),
    ...(user ? { user } : {}),
    signal: controller.signal,
    log: (line) => io.err(`${line}\n`),
  });

  if (values.once) {
    let report;
    try {
      report = await agent.runOnce(undefined, request);
    } catch (err) {
      // The server said no (credentials, unknown device): a refusal, not a usage error.
      if (err instanceof AppError && (err.code === 'UNAUTHORIZED' || err.code === 'FORBIDDEN')) {
        io.err(`fota: ${err.message}\n`);
        return ExitCode.Rejected;
      }
      throw err;
    }
    if (report.request) io.out(`update requested (${report.request.kind}): ${report.request.said ?? (report.request.status === undefined ? 'no answer' : `Status ${report.request.status}`)}\n`);
    for (const job of report.jobs) {
      io.out(`FUMO ${job.operation}: ${describeFumoResult(job.resultCode)}${job.resultCode >= 300 ? ` (${job.reason})` : ''}\n`);
    }
    io.out(`firmware ${report.firmwareVersion}; FUMO State ${agent.fumoState}\n`);
    return report.jobs.every((j) => isFumoSuccess(j.resultCode)) ? ExitCode.Ok : ExitCode.Rejected;
  }

  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  io.err(`device ${id} running firmware ${agent.firmwareVersion}; polling ${server ?? 'the server of its DM account'} every ${poll} s\n`);
  try {
    await agent.run(poll, controller.signal, request);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return ExitCode.Ok;
}
