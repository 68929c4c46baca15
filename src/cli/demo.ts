// `npm run demo` (`fota demo`): the whole product in one command on embedded defaults. It
// starts a server in a temporary data dir, uploads three real builds (the esbuild
// fixtures) as a manufacturer that signs each one offline (devices pin its offline keys),
// waits for their signed packages, simulates 500 devices on
// the first two versions with a few faults injected, rolls the third version out in a
// campaign 5% (approval) -> 25% -> 100% with the approval given by a second operator, and
// prints what it cost: bytes sent against full images, per-stage results by FUMO code,
// the time taken. Beside it, a batch of new devices enrolls from bootstrap files on a shared
// claim credential, which is refused afterwards, and a configuration campaign moves the
// fleet's DM server address. Its last line is the summary as one JSON object. Exit 0 only when the
// outcome is exactly what the faults predict.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { z } from 'zod';
import { type BuildView, buildViewSchema } from '../builds/schemas.ts';
import { type CampaignView, campaignViewSchema } from '../campaigns/schemas.ts';
import { loadConfig } from '../config.ts';
import { percent } from '../format.ts';
import { fetchManufacturerKeys } from '../device/simulate/api.ts';
import { FAULT_RESULT, parseFaults } from '../device/simulate/faults.ts';
import { Fleet } from '../device/simulate/fleet.ts';
import { startServer, type RunningServer } from '../start.ts';
import { AppError } from '../errors.ts';
import { createToken } from '../tokens/tokens.ts';
import { encodeStatementHeader, TARGET_STATEMENT_HEADER } from '../builds/statement-header.ts';
import { withOfflineRoot } from '../signing/trust-file.ts';
import { callServer, type Client } from './client.ts';
import { setUpOfflineSigning } from './demo-offline.ts';
import { type DemoEnrollment, finishEnrollment, startEnrollment } from './demo-enroll.ts';
import { failuresOf, followCampaign } from './demo-follow.ts';
import { runConfigurationCampaign } from './demo-configuration.ts';
import { configurationMismatches, enrollmentMismatches, type Expectation, faultWords, mismatches } from './demo-outcome.ts';
import { ExitCode, integerOption, type Output, parseOptions } from './io.ts';

// About 2% of the devices fail the firmware update (410, 402, 403); more are cut mid-download or slow and must
// still update. Devices that fail do so fast, so the first results of a stage over-represent
// them: the minimum sample (30) and failure threshold (25%) are set so this injected rate
// does not pause the campaign, while a bad build (most devices failing) still would.
const DEFAULT_FAULTS = 'install=1%,corrupt=0.4%,wrong-base=0.4%,cut=4%,slow=1%:2m,refuse-writes=1%';

export const demoHelp = `Usage: fota demo [--devices 500] [--enroll 20] [--data DIR] [--keep] [--port N] [--faults SPEC] [--delta-cache DIR]

Runs the whole story on embedded defaults: a server (temporary data dir unless --data),
a manufacturer that signs offline (three offline keys in DIR/offline-keys, two of which
sign each build's target statement; the server requires it, the devices pin the root),
three real builds (esbuild 0.24.0, 0.24.1, 0.25.0, fetched from the npm registry into
.fixtures/firmware the first time), --devices simulated devices on the first two
versions, and a campaign to 0.25.0 in stages 5% (approval) -> 25% -> 100%. The approval
is given by a second operator (four eyes). Then the operator moves the DM server: a
configuration profile (a Replace of ./DMAcc/fota/AppAddr/1/Addr) goes to the same devices
in a configuration campaign 10% (approval) -> 100%; devices with the refuse-writes fault
fail it with Status 425. Meanwhile --enroll new devices arrive from the
factory: an enrollment batch on one shared claim credential, exported as bootstrap files
into DIR/enrollment-export; each device starts from its file alone, its first session
replaces the claim with credentials of its own, and the demo then checks that the claim
opens no session for any of them. Faults (default ${DEFAULT_FAULTS})
are injected into a share of the devices, as in fota simulate (see fota simulate --help).

Prints progress, then a summary: bytes sent against what full images would have cost,
each stage's successes and failures by FUMO result code, and the time taken. The last
line is the summary as JSON. The server's log is kept: DIR/server.log with --data, else
fota-demo-XXXXXX-server.log in the temporary directory (the temporary data directory
itself is removed); the summary names it. Exit 0 when every device ends as its fault predicts (a
device without a failing fault on 0.25.0, every other one failed with its code), 1 when
not. When a stage holds more faulty devices than the thresholds allow, the campaign
pauses itself; the demo's operator then resumes it, as long as every failure is one of
the injected faults. --keep leaves the server running afterwards (Ctrl-C stops it) and prints the
console's address and an operator token to log in with (on stderr, once the summary and
its JSON line are printed). --delta-cache DIR keeps the
deltas the server makes in DIR and reuses them in later runs (as FOTA_DELTA_CACHE does for
fota serve), so running the demo again does not diff the same images again.
`;

const MODEL = 'esbuild-linux-x64';
const VERSIONS = ['0.24.0', '0.24.1', '0.25.0'] as const;
const DEADLINE_MS = 8 * 60_000;

export async function demoCommand(args: string[], io: Output): Promise<number> {
  const { values } = parseOptions(args, { devices: { type: 'string' }, enroll: { type: 'string' }, data: { type: 'string' }, keep: { type: 'boolean' }, port: { type: 'string' }, faults: { type: 'string' }, 'delta-cache': { type: 'string' } });
  if (values.help) return io.out(demoHelp), ExitCode.Ok;
  const devices = integerOption(values.devices, '--devices', 10) ?? 500;
  const enrollCount = integerOption(values.enroll, '--enroll', 1) ?? 20;
  const faults = parseFaults(values.faults ?? DEFAULT_FAULTS);
  const started = performance.now();
  const say = (line: string) => io.err(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}\n`);
  const dataDir = values.data ? resolve(values.data) : await mkdtemp(join(tmpdir(), 'fota-demo-'));
  await mkdir(dataDir, { recursive: true });
  const fixtures = await ensureFixtures(say);

  // The demo's devices receive Package 0 on a webhook on this machine (127.0.0.1), which
  // only a server started with the allow setting accepts; this server is the demo's own.
  const config = loadConfig({ FOTA_WEBHOOK_ALLOW_PRIVATE: 'true' }, {
    dataDir: join(dataDir, 'server'),
    artifactsDir: join(dataDir, 'artifacts'),
    port: integerOption(values.port, '--port', 0) ?? (values.keep ? 8080 : 0),
    adminToken: `demo-admin-${randomBytes(12).toString('hex')}`,
    logLevel: 'warn',
    ...(values['delta-cache'] ? { deltaCacheDir: resolve(values['delta-cache']) } : {}),
    campaigns: { tickMs: 1000, leaseMs: 15_000, evaluateEveryMs: 500, retryBackoffMs: 2000, notifyPerSecond: 200, defaultTimeoutMs: 5 * 60_000, fourEyes: true },
  });
  // A temporary data directory goes at the end; the server log is kept beside it, since a
  // run that went wrong is explained there.
  const serverLog = values.data ? join(dataDir, 'server.log') : join(tmpdir(), `${basename(dataDir)}-server.log`);
  const server = await startServer(config, { host: '127.0.0.1', log: pino({ level: 'warn' }, pino.destination(serverLog)) });
  say(`server at ${server.url} (data in ${dataDir}; server log ${serverLog}, kept)`);
  let fleets: Fleet[] = [];
  let enrollment: DemoEnrollment | undefined;
  try {
    const tokens = {
      manufacturer: (await createToken(server.ctx, 'demo', { role: 'manufacturer', manufacturer: 'esbuild', name: 'esbuild release bot' })).token,
      operator: (await createToken(server.ctx, 'demo', { role: 'operator', name: 'Olivia (operator)' })).token,
      approver: (await createToken(server.ctx, 'demo', { role: 'operator', name: 'Arjun (approver)' })).token,
    };
    const as = (token: string): Client => ({ server: server.url, token });
    const idSchema = z.object({ id: z.string() });

    // 1. The manufacturer signs each build offline and publishes it; each becomes packages
    //    the server signs for delivery, carrying the manufacturer's statement.
    const offline = await setUpOfflineSigning(as(tokens.manufacturer), join(dataDir, 'offline-keys'), 'esbuild', say);
    const builds: Record<string, BuildView> = {};
    for (const version of VERSIONS) {
      const file = fixtures[version];
      const { size } = await stat(file);
      const headers = { [TARGET_STATEMENT_HEADER]: encodeStatementHeader(await offline.sign(file, MODEL, version)) };
      const { id } = await callServer(as(tokens.manufacturer), 'POST', `/api/v1/builds?model=${MODEL}&version=${version}`, idSchema, { stream: createReadStream(file), size, contentType: 'application/octet-stream', headers });
      say(`uploaded esbuild ${version} (${mib(size)}) as build ${id}; packaging...`);
      builds[version] = await waitReady(as(tokens.manufacturer), id);
      for (const p of builds[version]?.packages ?? []) say(`  package ${p.kind}${p.fromVersion ? ` from ${p.fromVersion}` : ''}: ${mib(p.size)}`);
    }
    const target = builds['0.25.0'];
    if (!target) throw new Error('the target build is missing');
    const fullPackage = target.packages.find((p) => p.kind === 'full');

    // 2. A fleet on the first two versions, with faults.
    const trust = withOfflineRoot(await fetchManufacturerKeys({ server: server.url, token: tokens.operator }, 'esbuild'), offline.root);
    const split = [Math.round(devices * 0.6), devices - Math.round(devices * 0.6)];
    say(`registering ${devices} simulated devices (${split[0]} on 0.24.0, ${split[1]} on 0.24.1)...`);
    fleets = await Promise.all(
      (['0.24.0', '0.24.1'] as const).map((version, i) =>
        Fleet.create({
          server: server.url,
          devices: split[i] ?? 0,
          model: MODEL,
          version,
          image: fixtures[version],
          manufacturer: 'esbuild',
          trust,
          dataDir: join(dataDir, `fleet-${version}`),
          api: { server: server.url, token: tokens.operator },
          idPrefix: `demo-${version.replaceAll('.', '')}-`,
          tags: ['demo'],
          faults,
          pollSeconds: 20,
          concurrency: 24,
          patchConcurrency: 2,
          retryDelayMs: 200,
        }),
      ),
    );
    const expected = expectation(fleets);
    say(`faults injected: ${faultWords(faults, drawnFaults(fleets))}; expected to fail: ${JSON.stringify(expected.failuresByCode)}`);
    for (const fleet of fleets) fleet.start();

    // 2b. New devices from the factory: an enrollment batch on a shared claim credential,
    //     exported to bootstrap files; the devices start from those files alone and each
    //     first session swaps the claim for credentials of its own. They carry their own
    //     tag, so the firmware campaign below (tag demo) leaves them out.
    enrollment = await startEnrollment(as(tokens.operator), { dir: dataDir, count: enrollCount, model: MODEL, version: '0.25.0', image: fixtures['0.25.0'], manufacturer: 'esbuild', trust, tag: 'demo-enrolled' }, say);

    // 3. The operator's campaign; a second operator approves the first stage.
    const campaign = {
      name: 'esbuild 0.25.0 rollout',
      buildId: target.id,
      cohort: { tags: ['demo'] },
      stages: [{ percent: 5, requiresApproval: true }, { percent: 25 }, { percent: 100 }],
      successThreshold: 0.9,
      failureThreshold: 0.25,
      minSample: 30,
      fourEyes: true,
    };
    const { id: campaignId } = await callServer(as(tokens.operator), 'POST', '/api/v1/campaigns', idSchema, { json: campaign });
    const act = (action: string, token: string, reason?: string) =>
      callServer(as(token), 'POST', `/api/v1/campaigns/${campaignId}/${action}`, campaignViewSchema, { json: reason ? { reason } : {} });
    let view: CampaignView = await act('start', tokens.operator);
    say(`campaign ${campaignId} started: stages of ${view.stages.map((s) => s.size).join(' / ')} devices; stage 1 awaits approval`);
    view = await act('approve', tokens.approver, 'release notes checked');
    say('stage 1 approved by Arjun (approver); devices are woken by Package 0');

    // 4. Follow the campaign until every deployment has a result.
    const followed = await followCampaign(as(tokens.operator), campaignId, expected.failuresByCode, DEADLINE_MS, say);
    view = followed.view;
    const { resumes } = followed;
    // 4b. The operator moves the DM server: a configuration campaign over the same fleet.
    const configuration = await runConfigurationCampaign({ operator: as(tokens.operator), approver: as(tokens.approver) }, { model: MODEL, tag: 'demo', injected: refusalsExpected(fleets), deadlineMs: DEADLINE_MS }, say);
    const enrolled = await finishEnrollment(as(tokens.operator), enrollment, 60_000);
    say(`enrollment: ${enrolled.enrolled} of ${enrolled.devices} devices enrolled off claim ${enrolled.claim}; the claim was refused afterwards for ${enrolled.claimRefusedAfter}`);
    await Promise.all([...fleets, enrollment.fleet].map((f) => f.stop()));

    // 5. The summary.
    const t = view.totals;
    const failuresByCode = failuresOf(view);
    const devicesOnTarget = fleets.reduce((sum, f) => sum + (f.counts().byVersion['0.25.0'] ?? 0), 0);
    const fullImageBytes = (fullPackage?.size ?? 0) * view.cohortSize;
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    const problems = [
      ...mismatches(expected, { succeeded: t.succeeded, failed: t.failed, failuresByCode, unfinished: t.pending + t.scheduled + t.commanded + t.downloading + t.installing + t.canceled, devicesOnTarget }),
      ...enrollmentMismatches(enrolled),
      ...configurationMismatches(configuration),
    ];
    const summary = {
      devices,
      succeeded: t.succeeded,
      failed: t.failed,
      failuresByCode,
      expectedFailuresByCode: expected.failuresByCode,
      bytesSent: view.bytesServed,
      fullImageBytes,
      deltaShare: fullImageBytes > 0 ? Math.round((view.bytesServed / fullImageBytes) * 10_000) / 10_000 : null,
      campaign: { id: campaignId, state: view.state, resumes, ...(view.pausedReason ? { pausedReason: view.pausedReason } : {}) },
      stages: view.stages.map((s) => ({ percent: s.percent, devices: s.size, succeeded: s.counts.succeeded, failed: s.counts.failed, failuresByCode: s.failures })),
      configuration: { campaign: configuration.campaign, profile: configuration.profile, node: configuration.node, value: configuration.value, state: configuration.state, devices: configuration.devices, succeeded: configuration.succeeded, failed: configuration.failed, byCode: configuration.byCode, expectedByCode: configuration.expectedByCode, resumes: configuration.resumes, stages: configuration.stages },
      enrollment: { batch: enrolled.batch, claim: enrolled.claim, devices: enrolled.devices, enrolled: enrolled.enrolled, awaitingClaim: enrolled.awaitingClaim, claimRefusedAfter: enrolled.claimRefusedAfter, exportDir: enrolled.exportDir },
      seconds,
      outcomeMatches: problems.length === 0,
      serverLog,
    };
    io.out(`\nfota demo: ${devices} devices, campaign ${view.state} in ${seconds} s${resumes ? ` (resumed ${resumes} time${resumes === 1 ? '' : 's'} after pausing itself on injected faults)` : ''}\n`);
    io.out(`  bytes sent: ${mib(view.bytesServed)} for ${view.cohortSize} updates; full images would have cost ${mib(fullImageBytes)} (${percent(summary.deltaShare ?? 0)})\n`);
    for (const s of summary.stages) {
      const codes = Object.entries(s.failuresByCode).map(([code, n]) => `${code} x${n}`).join(', ');
      io.out(`  stage ${String(s.percent).padStart(3)}%: ${s.devices} devices, ${s.succeeded} succeeded, ${s.failed} failed${codes ? ` (${codes})` : ''}\n`);
    }
    const refusals = Object.entries(configuration.byCode).map(([code, n]) => `${code} x${n}`).join(', ');
    io.out(`  configuration campaign (${configuration.profile}, ${configuration.node} -> ${configuration.value}) ${configuration.state}: ${configuration.succeeded} of ${configuration.devices} devices moved, ${configuration.failed} refused${refusals ? ` (${refusals})` : ''}\n`);
    io.out(`  enrollment: ${enrolled.enrolled} of ${enrolled.devices} new devices enrolled from their bootstrap files, off the shared claim ${enrolled.claim}; the claim was refused afterwards for ${enrolled.claimRefusedAfter}\n`);
    io.out(problems.length === 0 ? '  outcome: exactly as injected\n' : `  outcome differs from what was injected: ${problems.join('; ')}\n`);
    io.out(`  server log: ${serverLog}\n`);
    // The JSON as soon as the story is done: a script reading it must not wait for Ctrl-C.
    io.out(`${JSON.stringify(summary)}\n`);
    if (values.keep) await keepRunning(server, tokens.operator, io);
    return problems.length === 0 ? ExitCode.Ok : ExitCode.Rejected;
  } finally {
    await Promise.all([...fleets, ...(enrollment ? [enrollment.fleet] : [])].map((f) => f.stop()));
    await server.close();
    if (!values.data && !values.keep) await rm(dataDir, { recursive: true, force: true });
  }
}

/** How many devices each failing fault should take down, from the fleets' own fault assignment. */
function expectation(fleets: Fleet[]): Expectation {
  const failuresByCode: Record<string, number> = {};
  let devices = 0;
  for (const fleet of fleets) {
    for (const id of fleet.ids) {
      devices += 1;
      const fault = fleet.faultOf(id);
      const code = fault ? FAULT_RESULT[fault.kind] : undefined;
      if (code !== undefined) failuresByCode[String(code)] = (failuresByCode[String(code)] ?? 0) + 1;
    }
  }
  return { devices, failuresByCode };
}

/** The configuration campaign's expected failures: every device with locked settings answers 425. */
function refusalsExpected(fleets: Fleet[]): Record<string, number> {
  const locked = drawnFaults(fleets)['refuse-writes'] ?? 0;
  return locked > 0 ? { '425': locked } : {};
}

/** How many devices drew each fault kind. */
function drawnFaults(fleets: Fleet[]): Record<string, number> {
  const drawn: Record<string, number> = {};
  for (const fleet of fleets) {
    for (const id of fleet.ids) {
      const kind = fleet.faultOf(id)?.kind;
      if (kind) drawn[kind] = (drawn[kind] ?? 0) + 1;
    }
  }
  return drawn;
}

async function keepRunning(server: RunningServer, operatorToken: string, io: Output): Promise<void> {
  // On stderr: stdout's last line stays the JSON summary.
  io.err(`\nThe server keeps running: console at ${server.url}/ (log in with the operator token ${operatorToken}). Ctrl-C stops it.\n`);
  await new Promise<void>((resolveStop) => {
    process.once('SIGINT', () => resolveStop());
    process.once('SIGTERM', () => resolveStop());
  });
}

/** The esbuild releases, fetched on first use by the same script the tests use. */
async function ensureFixtures(say: (line: string) => void): Promise<Record<(typeof VERSIONS)[number], string>> {
  const dir = resolve('.fixtures/firmware');
  const paths = Object.fromEntries(VERSIONS.map((v) => [v, join(dir, `esbuild-${v}.bin`)])) as Record<(typeof VERSIONS)[number], string>;
  if (!Object.values(paths).every((p) => existsSync(p))) {
    say('fetching the esbuild releases from the npm registry (once)...');
    const fetched = spawnSync('bash', [resolve('scripts/fetch-firmware.sh'), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (fetched.status !== 0) throw new Error(`scripts/fetch-firmware.sh failed (exit ${fetched.status}); the demo needs the npm registry once`);
  }
  return paths;
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MiB`;

/** Polls a build until its packages are ready (a failed build stops the demo). */
async function waitReady(client: Client, id: string): Promise<BuildView> {
  for (;;) {
    const build = await callServer(client, 'GET', `/api/v1/builds/${id}`, buildViewSchema);
    if (build.status === 'ready') return build;
    if (build.status === 'failed') throw new AppError('CONFLICT', `build ${id} failed: ${build.failureReason}`);
    await sleep(250);
  }
}
