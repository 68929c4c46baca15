// Campaign benchmark at fleet scale: N registered devices (default 1,000,000) in SQLite,
// one campaign over all of them with stages 1 -> 10 -> 50 -> 100 %. Prints one JSON object:
//   insertSeconds:   setup, not a goal: the devices inserted with one prepared statement in one
//                    transaction (registration is not what is measured);
//   startSeconds:    createCampaign + startCampaign (cohort snapshot, stage assignment, one
//                    pending deployment per device, stage 1 scheduled) -- goal < 15 s;
//   startPeakRssMiB: VmHWM of a fresh child process that opens the same database and only
//                    creates and starts the campaign (the 1M-row insert would otherwise own
//                    the high-water mark) -- goal < 1 GiB;
//   lookup:          planFumo (what a DM session calls to find the device's deployment) for
//                    --lookups random cohort devices plus as many devices of stage 1, each
//                    timed alone: p50/p99/max, and split into devices that get a plan
//                    (scheduled) and devices that get none (pending, later stages) -- goal
//                    p99 < 1 ms for both; activeDeploymentOf alone over the same devices;
//                    Slow calls (over 1 ms) are split into those with a GC pause inside them,
//                    those where the main thread waited for a CPU (its run-queue wait in
//                    /proc/<pid>/task/<tid>/schedstat grew: other load), and neither;
//   evaluateStage1Ms: evaluateCampaign while stage 1 runs (the DM session calls it after
//                    every deployment result);
//   startLongestStretch: the longest synchronous stretch of the start's process (one chunk
//                    of the start, or anything else that held its event loop): wall ms, and
//                    the main thread's CPU ms in it, which other load stretches less;
//   scheduleLastStageSeconds: scheduleStage of the 100 % stage (about half the cohort), in
//                    chunks sized by time (scheduleChunk) as the server runs it (longestChunkMs:
//                    how long one chunk holds the event loop; longestStretch as above);
//   stageCountsLastStageMs:   the counts evaluateCampaign reads for the running stage, for
//                    that stage (five reads: p50 and max): the per-result cost once it runs;
//   viewMs, summariesMs: campaignView and campaignSummaries (the console's pages, refreshed
//                    every 2.5 s), read from the kept counts (five each: p50 and max) --
//                    goal, with stageCountsLastStageMs: max < 50 ms, half the probe goal, as a
//                    request may wait behind a read and a bulk chunk in turn;
//   cancel:          abortCampaign of all N deployments (paced chunks), with the in-process
//                    probe every 50 ms beside it: seconds, CPU, its longest stretch and the
//                    probe's latency -- goal: max < 100 ms, as during the start.
// The machine's load average is printed too: on a shared machine wall times move with it,
// so CPU seconds are given beside them (in a VM, stolen time inflates those as well).
// With --postgres, the same run follows on PostgreSQL (a cluster this bench starts and
// stops, test/support/postgres.ts; devices inserted with one INSERT ... SELECT over
// generate_series, then VACUUM ANALYZE as autovacuum would) -- goal: start < 30 s -- and
// both results are printed side by side. In that mode, on both stores, a probe process
// does what a DM session of another device does at the store level every 50 ms while the
// start runs (findDevice, planFumo, and a write transaction: the device seen, a session
// row), alternately for a device outside the cohort and one inside it -- goal: none
// blocked more than 1 s -- and the start's process reports its longest event-loop stall.
// Run: npm run bench:campaign [-- --devices 1000000 --lookups 10000 --keep --postgres]
//      (profile the measured child: -- "--child-node-args=--cpu-prof --cpu-prof-dir=/tmp/prof")
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { createCampaign } from '../src/campaigns/create.ts';
import { evaluateCampaign, scheduleChunk, stageCounts } from '../src/campaigns/engine.ts';
import { abortCampaign } from '../src/campaigns/operator.ts';
import { startCampaign } from '../src/campaigns/start.ts';
import { campaignSummaries, campaignView } from '../src/campaigns/view.ts';
import { loadConfig } from '../src/config.ts';
import { closeContext, type Context, createContext } from '../src/context.ts';
import { downloadKeyOf, planFumo } from '../src/deployments/fumo.ts';
import { newId } from '../src/store/ids.ts';
import { stagesOf } from '../src/store/queries/campaigns.ts';
import { activeDeploymentOf } from '../src/store/queries/deployments.ts';
import { findDevice, insertSession, updateDevice } from '../src/store/queries/devices.ts';
import { execute, rows } from '../src/store/dialect.ts';
import { DATABASE_FILE } from '../src/store/sqlite.ts';
import type { Store, Tx } from '../src/store/store.ts';
import type { Principal } from '../src/tokens/tokens.ts';
import { type BenchDatabase, benchDatabase } from './postgres.ts';
import { postgresCpuSeconds } from './proc.ts';

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '1000000' },
    /** Random cohort devices timed in planFumo, and at most as many devices of stage 1. */
    lookups: { type: 'string', default: '10000' },
    /** Keep the temp dir (its path goes to stderr). */
    keep: { type: 'boolean', default: false },
    /** Extra node flags for the measured child, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof". */
    'child-node-args': { type: 'string', default: '' },
    /** After the SQLite run, the same on PostgreSQL, with the other devices' probe on both. */
    postgres: { type: 'boolean', default: false },
    /** With --postgres: this server instead of a throwaway cluster (a database is created on it for the run). */
    'postgres-url': { type: 'string' },
    /** Internal: this process is a child ("start", "after" or "probe") working in the given dir. */
    child: { type: 'string' },
    work: { type: 'string' },
    campaign: { type: 'string' },
  },
});
const DEVICES = Number(args.devices);
const LOOKUPS = Number(args.lookups);
if (!Number.isInteger(DEVICES) || DEVICES < 1 || !Number.isInteger(LOOKUPS) || LOOKUPS < 1) {
  console.error('usage: npm run bench:campaign -- [--devices N] [--lookups N] [--keep] [--postgres]');
  process.exit(2);
}

const MODEL = 'bench-x';
const TARGET = '2.0';
const STAGES = [1, 10, 50, 100];
const DM_URL = 'http://localhost:8080/dm';
const PRINCIPAL_NAME = 'bench-campaign';
const GOALS = { startSeconds: 15, postgresStartSeconds: 30, otherDevicesBlockedMs: 1000, lookupP99Ms: 1, memoryMiB: 1024, probeLatencyMs: 100, readMs: 50 };
/** Devices of another model: the probe's devices outside the cohort. */
const OTHER_MODEL = 'bench-other';
const OTHER_DEVICES = 1000;
const otherId = (i: number) => `IMEI:99${String(i).padStart(13, '0')}`;
/** How often the probe runs a session's store work while the start runs. */
const PROBE_EVERY_MS = 50;
/** The firmware a looked-up device reports in its session (the package is chosen against it). */
const REPORTED = { version: '1.0' };
const round = (n: number, digits = 2) => Number(n.toFixed(digits));
const progress = (message: string) => console.error(`bench:campaign: ${message}`);
const devId = (i: number) => `IMEI:35${String(i).padStart(13, '0')}`;
/** 60 % on 1.0, 30 % on 1.1, 10 % that never reported a version. */
const versionOf = (i: number) => (i % 10 < 6 ? '1.0' : i % 10 < 9 ? '1.1' : null);

// --- /proc/self ----------------------------------------------------------------------------

/** The main thread's scheduler figures: CPU time, run-queue wait (ns), timeslices. */
const SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`;

/** VmRSS and VmHWM (the kernel's peak RSS of this process) in MiB. */
function memoryMiB(): { rss: number; hwm: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? Number.NaN) / 1024;
  return { rss: round(field('VmRSS'), 1), hwm: round(field('VmHWM'), 1) };
}

function percentiles(samplesMs: number[]): { n: number; p50Ms: number; p99Ms: number; maxMs: number } {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
  return { n: sorted.length, p50Ms: round(at(50), 3), p99Ms: round(at(99), 3), maxMs: round(sorted.at(-1) ?? Number.NaN, 3) };
}

/**
 * The longest synchronous stretch of this process's event loop, by a 1 ms timer: the most
 * wall time between two of its ticks, and the most CPU time the main thread spent between
 * two ticks (/proc schedstat; other load on the machine stretches the wall figure, much
 * less this one). Without schedstat, cpuMs is 0.
 */
function stretchSampler(): { stop(): { wallMs: number; cpuMs: number } } {
  const fd = existsSync(SCHEDSTAT) ? openSync(SCHEDSTAT, 'r') : undefined;
  const buffer = Buffer.alloc(128);
  const cpuNs = () => (fd === undefined ? 0 : Number(buffer.toString('latin1', 0, readSync(fd, buffer, 0, buffer.length, 0)).split(' ')[0]));
  let lastWall = performance.now();
  let lastCpu = cpuNs();
  let wallMs = 0;
  let cpuMs = 0;
  const timer = setInterval(() => {
    const wall = performance.now();
    const cpu = cpuNs();
    wallMs = Math.max(wallMs, wall - lastWall);
    cpuMs = Math.max(cpuMs, (cpu - lastCpu) / 1e6);
    lastWall = wall;
    lastCpu = cpu;
  }, 1);
  return {
    stop() {
      clearInterval(timer);
      if (fd !== undefined) closeSync(fd);
      return { wallMs: round(wallMs, 1), cpuMs: round(cpuMs, 1) };
    },
  };
}

/** A seeded PRNG (mulberry32), so every run samples the same devices. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Which store a run works on: SQLite in `work`, or the PostgreSQL database (with the master key every process needs). */
interface Target {
  store: 'sqlite' | 'postgres';
  databaseUrl?: string;
  /** Hex, 32 bytes. */
  masterKey?: string;
}

/** Children learn the target from their environment (set by runChild). */
function childTarget(): Target {
  const databaseUrl = process.env.BENCH_DATABASE_URL;
  const masterKey = process.env.BENCH_MASTER_KEY;
  return databaseUrl && masterKey ? { store: 'postgres', databaseUrl, masterKey } : { store: 'sqlite' };
}

const config = (work: string, target: Target = childTarget()) =>
  loadConfig(
    {},
    {
      dataDir: join(work, 'data'),
      artifactsDir: join(work, 'artifacts'),
      logLevel: 'warn',
      ...(target.databaseUrl && target.masterKey ? { databaseUrl: target.databaseUrl, masterKey: new Uint8Array(Buffer.from(target.masterKey, 'hex')) } : {}),
    },
  );
// Logs go to stderr: stdout carries the one JSON object.
const openContext = (work: string, target?: Target) => createContext(config(work, target), { log: pino({ level: 'warn' }, pino.destination(2)) });

// --- setup (parent) ------------------------------------------------------------------------

interface Seeded {
  buildId: string;
  manufacturerId: string;
}

/** A manufacturer, the model, builds 1.0, 1.1 and the ready 2.0 with a full package and deltas from both. */
async function seedBuild(ctx: Context, now: number): Promise<Seeded> {
  const manufacturerId = newId('mfr');
  const modelId = newId('mdl');
  const ids = { '1.0': newId('bld'), '1.1': newId('bld'), [TARGET]: newId('bld') };
  await ctx.db.transaction(async ({ q, t }) => {
    await q.insert(t.manufacturers).values({ id: manufacturerId, name: 'Bench Devices', createdAt: now });
    await q.insert(t.models).values({ id: modelId, manufacturerId, name: MODEL, createdAt: now });
    for (const [version, id] of Object.entries(ids)) {
      await q.insert(t.builds).values({ id, modelId, version, sha256: '0'.repeat(64), size: 10_000_000, status: 'ready', createdAt: now, readyAt: now });
    }
    // No bytes are served here, so the package rows carry placeholder hashes and envelopes.
    const pkg = (sourceBuildId: string | null, fromVersion: string | null, size: number) => ({
      id: newId('pkg'),
      buildId: ids[TARGET],
      sourceBuildId,
      kind: sourceBuildId ? ('bsdiff40' as const) : ('full' as const),
      fromVersion,
      toVersion: TARGET,
      fileSha256: '0'.repeat(64),
      fileSize: size + 512,
      payloadSha256: '0'.repeat(64),
      payloadSize: size,
      payloadOffset: 512,
      envelope: '{}',
      keyid: 'bench',
      createdAt: now,
    });
    await q.insert(t.packages).values([pkg(null, null, 10_000_000), pkg(ids['1.0'], '1.0', 400_000), pkg(ids['1.1'], '1.1', 300_000)]);
  });
  return { buildId: ids[TARGET], manufacturerId };
}

/** Setup, not measured: a connection of its own to the store's file, one prepared statement, one transaction. */
function insertDevices(work: string, n: number, now: number, others: number): void {
  const client = new Database(join(config(work, { store: 'sqlite' }).dataDir, DATABASE_FILE));
  try {
    const insert = client.prepare('INSERT INTO devices (id, model, firmware_version, tags, created_at) VALUES (?, ?, ?, ?, ?)');
    client.transaction(() => {
      for (let i = 0; i < n; i++) insert.run(devId(i), MODEL, versionOf(i), i % 2 ? '["us"]' : '["eu"]', now);
      for (let i = 0; i < others; i++) insert.run(otherId(i), OTHER_MODEL, '1.0', '[]', now);
    })();
  } finally {
    client.close();
  }
}

/**
 * Setup on PostgreSQL, not measured: the same rows as insertDevices from one INSERT ...
 * SELECT over generate_series, then VACUUM ANALYZE, which autovacuum would have run after
 * a registration of this size (the planner needs the table's statistics).
 */
async function insertDevicesPostgres(db: Store, n: number, now: number, others: number): Promise<void> {
  const id = (prefix: string) => sql`${prefix} || lpad(g::text, 13, '0')`;
  await db.transaction(async (tx) => {
    await execute(
      tx,
      sql`INSERT INTO devices (id, model, firmware_version, tags, created_at)
          SELECT ${id('IMEI:35')}, ${MODEL}, CASE WHEN g % 10 < 6 THEN '1.0' WHEN g % 10 < 9 THEN '1.1' END,
                 CASE WHEN g % 2 = 1 THEN '["us"]' ELSE '["eu"]' END, ${now}
          FROM generate_series(0, ${n - 1}) AS g`,
    );
    if (others > 0) await execute(tx, sql`INSERT INTO devices (id, model, firmware_version, tags, created_at) SELECT ${id('IMEI:99')}, ${OTHER_MODEL}, '1.0', '[]', ${now} FROM generate_series(0, ${others - 1}) AS g`);
  });
  await execute(db, sql`VACUUM ANALYZE devices`);
}

// --- children ------------------------------------------------------------------------------

const SELF = fileURLToPath(import.meta.url);
let child: ChildProcess | undefined;
let probeChild: ChildProcess | undefined;
let postgres: BenchDatabase | undefined;

function childEnv(target: Target, seeded: Seeded): NodeJS.ProcessEnv {
  return {
    ...process.env,
    BENCH_SEEDED: JSON.stringify(seeded),
    ...(target.databaseUrl && target.masterKey ? { BENCH_DATABASE_URL: target.databaseUrl, BENCH_MASTER_KEY: target.masterKey } : {}),
  };
}

function runChild<T>(mode: 'start' | 'after', work: string, target: Target, seeded: Seeded, nodeArgs: string[] = [], campaignId = ''): Promise<T> {
  return new Promise((resolve, reject) => {
    const proc = fork(SELF, ['--child', mode, '--work', work, '--devices', String(DEVICES), '--lookups', String(LOOKUPS), '--campaign', campaignId, ...(args.postgres ? ['--postgres'] : [])], {
      execArgv: ['--import', 'tsx', ...nodeArgs],
      env: childEnv(target, seeded),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child = proc;
    let result: T | undefined;
    proc.on('message', (message) => (result = message as T));
    proc.once('error', reject);
    proc.once('exit', (code) => {
      child = undefined;
      if (code === 0 && result !== undefined) resolve(result);
      else reject(new Error(`the ${mode} child exited with ${code}`));
    });
  });
}

function childSeeded(): Seeded {
  return JSON.parse(process.env.BENCH_SEEDED ?? '{}') as Seeded;
}

const principalOf = (seeded: Seeded): Principal => ({ tokenId: 'tok_bench', tokenName: PRINCIPAL_NAME, personId: 'psn_bench', personLogin: PRINCIPAL_NAME, name: PRINCIPAL_NAME, role: 'operator', manufacturerId: seeded.manufacturerId, manufacturer: 'Bench Devices' });

const campaignRequest = (buildId: string, name: string) => ({
  name,
  buildId,
  cohort: { model: MODEL },
  stages: STAGES.map((percent) => ({ percent, requiresApproval: false })),
  successThreshold: 0.95,
  failureThreshold: 0.05,
  minSample: 10,
  soakSeconds: 0,
  dynamic: false,
});

const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return round((used.user + used.system) / 1e6, 2);
};

/** The start alone, in a process of its own: its VmHWM is the start's peak. */
async function measureStart(work: string) {
  const seeded = childSeeded();
  const ctx = await openContext(work);
  const principal = principalOf(seeded);
  const memoryBefore = memoryMiB();

  progress(`creating and starting the campaign (${childTarget().store})`);
  // How long the start holds this process's event loop at a stretch.
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  // Its first tick only sets where it counts from: a stall before the second goes unseen.
  await new Promise((resolve) => setTimeout(resolve, 50));
  // A request of this same server process while the start runs: every PROBE_EVERY_MS, what
  // a DM message does at the store level, through this process's event loop and store.
  const probe = inProcessProbe(ctx);
  const stretches = stretchSampler();
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const { id } = await createCampaign(ctx, principal, campaignRequest(seeded.buildId, 'bench'));
  const t1 = performance.now();
  const started = await startCampaign(ctx, principal, id);
  const t2 = performance.now();
  const startCpuSeconds = cpuSeconds(cpu);
  const longestStretch = stretches.stop();
  const probeLatency = await probe.stop();
  // The histogram records a stall when its timer fires after it: let it fire once more.
  await new Promise((resolve) => setTimeout(resolve, 50));
  loop.disable();
  const memoryAfter = memoryMiB();
  const heapUsed = round(process.memoryUsage().heapUsed / 1024 / 1024, 1);
  if (started.deployments !== DEVICES) throw new Error(`the start made ${started.deployments} deployments, expected ${DEVICES}`);
  const stageSizes = (await stagesOf(ctx.db, id)).map((s) => s.size);
  await closeContext(ctx);
  return {
    campaignId: id,
    createSeconds: round((t1 - t0) / 1000, 3),
    startSeconds: round((t2 - t0) / 1000, 2),
    startCpuSeconds,
    started,
    stageSizes,
    memoryMiB: { beforeStart: memoryBefore, afterStart: { ...memoryAfter, heapUsed } },
    /** When the start ran, on the wall clock (the probe's samples are matched against it). */
    window: { from: performance.timeOrigin + t0, to: performance.timeOrigin + t2 },
    eventLoopMaxMs: round(loop.max / 1e6, 1),
    longestStretch,
    probeLatency,
  };
}

/**
 * Every PROBE_EVERY_MS, findDevice, planFumo and a write transaction (the device seen, a
 * session row) for a random device, in this process. A probe's latency counts from when
 * its timer was due, so time it waited for the event loop (a stalled start) counts.
 */
function inProcessProbe(ctx: Context, label = 'start'): { stop(): Promise<ReturnType<typeof percentiles>> } {
  const random = prng(0xbeef);
  const latencies: number[] = [];
  const downloadKey = downloadKeyOf(ctx);
  let stopped = false;
  let k = 0;
  const once = async (deviceId: string) => {
    const now = Date.now();
    if (!(await findDevice(ctx.db, deviceId))) throw new Error(`no device ${deviceId}`);
    await planFumo(ctx.db, downloadKey, deviceId, DM_URL, now, REPORTED);
    await ctx.db.transaction(async (tx) => {
      await updateDevice(tx, deviceId, { lastSeen: now, authFailures: 0, authLockedUntil: null });
      await insertSession(tx, { id: `dms_inproc_${label}_${k}`, deviceId, sessionId: ((k % 0xfff0) + 1).toString(16), state: 'ended', clientMsgId: 1, serverMsgId: 1, createdAt: now, updatedAt: now, expiresAt: now });
    });
  };
  const done = new Promise<void>((resolve, reject) => {
    const next = () => {
      if (stopped) return resolve();
      const due = performance.now() + PROBE_EVERY_MS;
      setTimeout(() => {
        k += 1;
        const deviceId = k % 2 === 1 ? devId(Math.floor(random() * DEVICES)) : otherId(Math.floor(random() * OTHER_DEVICES));
        once(deviceId).then(() => {
          latencies.push(performance.now() - due);
          next();
        }, reject);
      }, PROBE_EVERY_MS);
    };
    next();
  });
  return {
    async stop() {
      stopped = true;
      await done;
      return percentiles(latencies);
    },
  };
}

// --- the probe: other devices' sessions while the start runs -------------------------------

interface ProbeSample {
  /** Wall-clock start (ms since the epoch). */
  at: number;
  ms: number;
  readMs: number;
  planMs: number;
  writeMs: number;
  cohort: boolean;
  error?: string;
}

/**
 * What a DM message of a device does at the store level (src/dm/session: identify, plan,
 * persist), for a device outside the cohort and one inside it in turn, every
 * PROBE_EVERY_MS until the parent says stop: findDevice, planFumo, then one write
 * transaction (the device seen, a session row). One call at a time, so a blocked one
 * shows as one long sample.
 */
async function probe(work: string): Promise<void> {
  const ctx = await openContext(work);
  const random = prng(0x5eed);
  let stop = false;
  process.on('message', () => (stop = true));
  const samples: ProbeSample[] = [];
  const once = async (k: number): Promise<ProbeSample> => {
    const cohort = k % 2 === 1;
    const deviceId = cohort ? devId(Math.floor(random() * DEVICES)) : otherId(Math.floor(random() * OTHER_DEVICES));
    const now = Date.now();
    const at = performance.timeOrigin + performance.now();
    const t0 = performance.now();
    let t1 = t0;
    let t2 = t0;
    try {
      const device = await findDevice(ctx.db, deviceId);
      if (!device) throw new Error(`no device ${deviceId}`);
      t1 = performance.now();
      await planFumo(ctx.db, downloadKeyOf(ctx), deviceId, DM_URL, now, REPORTED);
      t2 = performance.now();
      await ctx.db.transaction(async (tx) => {
        await updateDevice(tx, deviceId, { lastSeen: now, authFailures: 0, authLockedUntil: null });
        await insertSession(tx, {
          id: `dms_probe_${process.pid}_${k}`,
          deviceId,
          sessionId: (k % 0xfff0 + 1).toString(16),
          state: 'ended',
          clientMsgId: 1,
          serverMsgId: 1,
          createdAt: now,
          updatedAt: now,
          expiresAt: now,
        });
      });
      const t3 = performance.now();
      return { at, ms: t3 - t0, readMs: t1 - t0, planMs: t2 - t1, writeMs: t3 - t2, cohort };
    } catch (err) {
      const t3 = performance.now();
      return { at, ms: t3 - t0, readMs: t1 - t0, planMs: t2 - t1, writeMs: t3 - t2, cohort, error: err instanceof Error ? err.message : String(err) };
    }
  };
  // Warm-up (JIT, prepared statements), not reported.
  for (let k = 0; k < 50; k++) await once(-2 - k);
  process.send?.({ ready: true });
  for (let k = 0; !stop; k++) {
    const sample = await once(k);
    samples.push(sample);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, PROBE_EVERY_MS - sample.ms)));
  }
  await closeContext(ctx);
  await new Promise<void>((resolve, reject) => process.send?.({ samples }, (err: Error | null) => (err ? reject(err) : resolve())));
  process.removeListener('disconnect', orphaned);
  process.disconnect();
}

/** The probe process, running once it says it is ready; `stop()` ends it and returns its samples. */
async function startProbe(work: string, target: Target, seeded: Seeded): Promise<{ stop(): Promise<ProbeSample[]> }> {
  const proc = fork(SELF, ['--child', 'probe', '--work', work, '--devices', String(DEVICES)], {
    execArgv: ['--import', 'tsx'],
    env: childEnv(target, seeded),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  probeChild = proc;
  let samples: ProbeSample[] | undefined;
  const exited = new Promise<void>((resolve, reject) => {
    proc.once('error', reject);
    proc.once('exit', (code) => {
      probeChild = undefined;
      if (code === 0 && samples) resolve();
      else reject(new Error(`the probe exited with ${code}`));
    });
  });
  await new Promise<void>((resolve, reject) => {
    proc.on('message', (message: { ready?: boolean; samples?: ProbeSample[] }) => {
      if (message.ready) resolve();
      if (message.samples) samples = message.samples;
    });
    exited.catch(reject);
  });
  return {
    async stop() {
      proc.send('stop');
      await exited;
      return samples ?? [];
    },
  };
}

/** The probe's calls that overlapped the start (those before it, for comparison). */
function probeFigures(samples: ProbeSample[], window: { from: number; to: number }) {
  const during = samples.filter((p) => p.at < window.to && p.at + p.ms > window.from);
  const before = samples.filter((p) => p.at + p.ms <= window.from);
  const errors = during.filter((p) => p.error !== undefined);
  const max = (list: ProbeSample[], key: 'ms' | 'readMs' | 'planMs' | 'writeMs') => round(list.reduce((m, p) => Math.max(m, p[key]), 0), 1);
  return {
    everyMs: PROBE_EVERY_MS,
    duringStart: {
      ...percentiles(during.map((p) => p.ms)),
      over1s: during.filter((p) => p.ms > GOALS.otherDevicesBlockedMs).length,
      errors: errors.length,
      ...(errors.length ? { firstError: errors[0]?.error } : {}),
      maxMsByStep: { findDevice: max(during, 'readMs'), planFumo: max(during, 'planMs'), writeTransaction: max(during, 'writeMs') },
      maxMsOutsideCohort: max(
        during.filter((p) => !p.cohort),
        'ms',
      ),
      maxMsInCohort: max(
        during.filter((p) => p.cohort),
        'ms',
      ),
    },
    beforeStart: percentiles(before.map((p) => p.ms)),
  };
}

/**
 * After the start, in a fresh process (steady state: no garbage of the start left to
 * collect): what DM sessions do, the last stage's start, the engine's counts, the view.
 */
async function measureAfter(work: string, campaignId: string) {
  const ctx = await openContext(work);
  const id = campaignId;

  // Lookups: random cohort devices (mostly pending) and devices of stage 1 (scheduled), interleaved.
  progress('timing lookups');
  const random = prng(0xc0ffee);
  const stageOne = (await rows<{ id: string }>(ctx.db, sql`SELECT device_id AS id FROM deployments WHERE campaign_id = ${id} AND stage = 0`)).map((r) => r.id);
  const ids: string[] = [];
  for (let k = 0; k < LOOKUPS; k++) ids.push(devId(Math.floor(random() * DEVICES)));
  for (let k = 0; k < Math.min(LOOKUPS, stageOne.length); k++) ids.push(stageOne[Math.floor(random() * stageOne.length)] ?? '');
  for (let k = ids.length - 1; k > 0; k--) {
    const j = Math.floor(random() * (k + 1));
    [ids[k], ids[j]] = [ids[j] ?? '', ids[k] ?? ''];
  }
  const now = Date.now();
  const downloadKey = downloadKeyOf(ctx);
  // Warm-up (JIT), not timed.
  for (let k = 0; k < 1000; k++) await planFumo(ctx.db, downloadKey, devId((k * 7919) % DEVICES), DM_URL, now, REPORTED);
  const scheduledMs: number[] = [];
  const pendingMs: number[] = [];
  // Slow calls are told apart: a GC pause inside the call, or the main thread waiting for a
  // CPU (its run-queue wait in /proc schedstat grew: other load on the machine), or neither.
  const gcs: Array<{ start: number; end: number }> = [];
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push({ start: e.startTime, end: e.startTime + e.duration });
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const calls: Array<{ start: number; end: number; preempted: boolean }> = [];
  /** Should schedstat be missing, no call counts as preempted. */
  const runQueueWaitNs = existsSync(SCHEDSTAT) ? () => Number(readFileSync(SCHEDSTAT, 'utf8').split(' ')[1]) : () => 0;
  const lookupCpu = process.cpuUsage();
  const l0 = performance.now();
  for (const deviceId of ids) {
    const waited = runQueueWaitNs();
    const start = performance.now();
    const s = process.hrtime.bigint();
    const plan = await planFumo(ctx.db, downloadKey, deviceId, DM_URL, now, REPORTED);
    const ms = Number(process.hrtime.bigint() - s) / 1e6;
    calls.push({ start, end: start + ms, preempted: runQueueWaitNs() - waited > 20_000 });
    (plan ? scheduledMs : pendingMs).push(ms);
  }
  const lookupWallMs = performance.now() - l0;
  const lookupCpuMs = cpuSeconds(lookupCpu) * 1000;
  await new Promise((resolve) => setTimeout(resolve, 50)); // the observer reports asynchronously
  gcObserver.disconnect();
  const inGc = (c: { start: number; end: number }) => gcs.some((g) => g.start < c.end && g.end > c.start);
  const slow = calls.filter((c) => c.end - c.start > GOALS.lookupP99Ms);
  const undisturbed = calls.filter((c) => !c.preempted && !inGc(c)).map((c) => c.end - c.start);
  const activeMs: number[] = [];
  for (const deviceId of ids) {
    const s = process.hrtime.bigint();
    const row = await activeDeploymentOf(ctx.db, deviceId);
    activeMs.push(Number(process.hrtime.bigint() - s) / 1e6);
    if (!row) throw new Error(`no active deployment for ${deviceId}`);
  }

  // What the engine does after every deployment result of the running stage 1.
  const evaluateMs: number[] = [];
  for (let k = 0; k < 5; k++) {
    const s = performance.now();
    await evaluateCampaign(ctx, id);
    evaluateMs.push(performance.now() - s);
  }

  // The last stage's start at this scale (about half the cohort), then what the engine
  // counts per deployment result while it runs, then the operator's view.
  progress('scheduling the last stage');
  const last = STAGES.length - 1;
  const cpu = process.cpuUsage();
  const t3 = performance.now();
  // As the server does it: a chunk per transaction, the event loop free in between.
  let scheduledLast = 0;
  let chunks = 0;
  let longestChunkMs = 0;
  const stretches = stretchSampler();
  for (;;) {
    const c0 = performance.now();
    const n = await scheduleChunk(ctx, id, last);
    longestChunkMs = Math.max(longestChunkMs, performance.now() - c0);
    if (n === 0) break;
    scheduledLast += n;
    chunks += 1;
    // As the server's loop does (every 200 ms there): the timer above gets its turn.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const longestStretch = stretches.stop();
  const t4 = performance.now();
  const scheduleCpuSeconds = cpuSeconds(cpu);
  // What the engine reads after each result of the running stage, and the console's two
  // pages (refreshed every 2.5 s): each holds the event loop while it runs (SQLite), so
  // they are timed five times each, and the longest counts against the goal.
  const timed = async (fn: () => Promise<unknown>) => {
    const ms: number[] = [];
    for (let k = 0; k < 5; k++) {
      const s = performance.now();
      await fn();
      ms.push(performance.now() - s);
    }
    return percentiles(ms);
  };
  const countsMs = await timed(() => stageCounts(ctx.db, id, last));
  const view = await campaignView(ctx, id);
  const viewMs = await timed(() => campaignView(ctx, id));
  // The console's overview: every campaign's totals (here one campaign of 1M rows).
  const summariesMs = await timed(() => campaignSummaries(ctx, 50));
  if (view.totals.pending + view.totals.scheduled !== DEVICES) throw new Error(`the view counts ${JSON.stringify(view.totals)}, expected ${DEVICES} pending or scheduled`);

  // The abort: every one of the DEVICES deployments is pending or scheduled, so all are
  // canceled, a chunk per transaction, while a request of this process runs every 50 ms.
  progress('aborting the campaign');
  const cancel = await measureCancel(ctx, id);
  await closeContext(ctx);
  return {
    lookup: {
      ...percentiles([...scheduledMs, ...pendingMs]),
      scheduled: percentiles(scheduledMs),
      pending: percentiles(pendingMs),
      /** CPU over wall time of the timed loop: below 1 means this process waited (other load, I/O). */
      cpuShare: round(lookupCpuMs / lookupWallMs, 2),
      slowCalls: {
        over1ms: slow.length,
        duringGc: slow.filter(inGc).length,
        preempted: slow.filter((c) => c.preempted).length,
        neither: slow.filter((c) => !c.preempted && !inGc(c)).length,
      },
      gcPauses: { count: gcs.length, totalMs: round(gcs.reduce((sum, g) => sum + g.end - g.start, 0), 1) },
      p99UndisturbedMs: percentiles(undisturbed).p99Ms,
    },
    activeDeploymentOf: percentiles(activeMs),
    evaluateStage1Ms: percentiles(evaluateMs).p50Ms,
    scheduleLastStage: { rows: scheduledLast, seconds: round((t4 - t3) / 1000, 2), cpuSeconds: scheduleCpuSeconds, chunks, longestChunkMs: round(longestChunkMs, 1), longestStretch },
    stageCountsLastStageMs: countsMs,
    viewMs,
    summariesMs,
    cancel,
    memoryMiB: memoryMiB(),
  };
}

/** abortCampaign of the whole campaign with the in-process probe beside it: how long, and how long a request waited. */
async function measureCancel(ctx: Context, campaignId: string) {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const probe = inProcessProbe(ctx, 'cancel');
  const stretches = stretchSampler();
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const { canceled } = await abortCampaign(ctx, principalOf(childSeeded()), campaignId, 'bench');
  const seconds = round((performance.now() - t0) / 1000, 2);
  const cancelCpuSeconds = cpuSeconds(cpu);
  const longestStretch = stretches.stop();
  const probeLatency = await probe.stop();
  await new Promise((resolve) => setTimeout(resolve, 50));
  loop.disable();
  if (canceled !== DEVICES) throw new Error(`the abort canceled ${canceled} deployments, expected ${DEVICES}`);
  // The kept counts at this scale: every deployment canceled.
  const totals = (await campaignView(ctx, campaignId)).totals;
  if (totals.canceled !== DEVICES) throw new Error(`after the abort the view counts ${JSON.stringify(totals)}, expected ${DEVICES} canceled`);
  return { rows: canceled, seconds, cpuSeconds: cancelCpuSeconds, eventLoopMaxMs: round(loop.max / 1e6, 1), longestStretch, probeLatency };
}

// --- the run (parent) ----------------------------------------------------------------------

/** One store's whole run: setup, the start (with the probe beside it under --postgres), the after part. */
async function runStore(work: string, target: Target & { postgresDataDir?: string }) {
  const began = performance.now();
  const ctx = await openContext(work, target);
  const now = Date.now();
  const seeded = await seedBuild(ctx, now);
  const others = OTHER_DEVICES;
  progress(`inserting ${DEVICES} devices (${target.store})`);
  const i0 = performance.now();
  if (target.store === 'sqlite') insertDevices(work, DEVICES, now, others);
  else await insertDevicesPostgres(ctx.db, DEVICES, now, others);
  const insertSeconds = (performance.now() - i0) / 1000;
  const setupMemory = memoryMiB();
  await closeContext(ctx);

  const nodeArgs = (args['child-node-args'] ?? '').split(/\s+/).filter(Boolean);
  const probe = args.postgres ? await startProbe(work, target, seeded) : undefined;
  const postgresCpu = () => (target.postgresDataDir === undefined ? 0 : postgresCpuSeconds(target.postgresDataDir));
  const postgresCpuBefore = postgresCpu();
  let start: Awaited<ReturnType<typeof measureStart>>;
  let samples: ProbeSample[] = [];
  try {
    start = await runChild<Awaited<ReturnType<typeof measureStart>>>('start', work, target, seeded, nodeArgs);
  } finally {
    samples = (await probe?.stop()) ?? [];
  }
  const startPostgresCpuSeconds = postgresCpu() - postgresCpuBefore;
  const after = await runChild<Awaited<ReturnType<typeof measureAfter>>>('after', work, target, seeded, [], start.campaignId);

  const startPeakRssMiB = start.memoryMiB.afterStart.hwm;
  const { lookup } = after;
  const { startSeconds } = start;
  const otherDevices = probe ? probeFigures(samples, start.window) : undefined;
  const startGoal = target.store === 'sqlite' ? GOALS.startSeconds : GOALS.postgresStartSeconds;
  return {
    insertSeconds: round(insertSeconds, 2),
    setupRssMiB: setupMemory,
    createSeconds: start.createSeconds,
    startSeconds,
    startCpuSeconds: start.startCpuSeconds,
    ...(target.postgresDataDir === undefined ? {} : { startPostgresCpuSeconds: round(startPostgresCpuSeconds, 2) }),
    startEventLoopMaxMs: start.eventLoopMaxMs,
    /** The longest synchronous stretch of the start's process: wall, and the main thread's CPU in it. */
    startLongestStretch: start.longestStretch,
    /** Requests of the start's own process (its event loop, its store) during the start. */
    probeLatencyDuringStartMs: start.probeLatency,
    startPeakRssMiB,
    started: start.started,
    stageSizes: start.stageSizes,
    startMemoryMiB: start.memoryMiB,
    ...(otherDevices ? { otherDevices } : {}),
    lookup: after.lookup,
    activeDeploymentOf: after.activeDeploymentOf,
    evaluateStage1Ms: after.evaluateStage1Ms,
    scheduleLastStageSeconds: after.scheduleLastStage.seconds,
    scheduleLastStage: after.scheduleLastStage,
    stageCountsLastStageMs: after.stageCountsLastStageMs,
    viewMs: after.viewMs,
    summariesMs: after.summariesMs,
    /** abortCampaign of all DEVICES deployments, with a request of the same process every 50 ms. */
    cancel: after.cancel,
    afterMemoryMiB: after.memoryMiB,
    goals: {
      [`startUnder${startGoal}s`]: startSeconds < startGoal,
      lookupP99Under1ms: lookup.scheduled.p99Ms < GOALS.lookupP99Ms && lookup.pending.p99Ms < GOALS.lookupP99Ms,
      memoryUnder1GiB: startPeakRssMiB < GOALS.memoryMiB,
      maxProbeLatencyUnder100ms: start.probeLatency.maxMs < GOALS.probeLatencyMs && start.eventLoopMaxMs < GOALS.probeLatencyMs,
      [`consoleReadsUnder${GOALS.readMs}ms`]: Math.max(after.stageCountsLastStageMs.maxMs, after.viewMs.maxMs, after.summariesMs.maxMs) < GOALS.readMs,
      maxProbeLatencyDuringCancelUnder100ms: after.cancel.probeLatency.maxMs < GOALS.probeLatencyMs && after.cancel.eventLoopMaxMs < GOALS.probeLatencyMs,
      ...(otherDevices ? { otherDevicesNeverBlockedOver1s: otherDevices.duringStart.over1s === 0 && otherDevices.duringStart.errors === 0 } : {}),
    },
    tookSeconds: round((performance.now() - began) / 1000, 1),
  };
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'fota-bench-campaign-'));
  process.on('exit', () => {
    child?.kill('SIGKILL');
    probeChild?.kill('SIGKILL');
    postgres?.stopNow();
    postgres = undefined;
    if (args.keep) console.error(`bench:campaign: kept ${root}`);
    else rmSync(root, { recursive: true, force: true });
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  const header = () => ({ benchmark: 'campaign', cores: availableParallelism(), loadavg1: round(loadavg()[0] ?? 0, 2), devices: DEVICES, stages: STAGES });

  const sqliteWork = join(root, 'sqlite');
  const { tookSeconds: sqliteTook, ...sqlite } = await runStore(sqliteWork, { store: 'sqlite' });
  if (!args.postgres) {
    console.log(JSON.stringify({ ...header(), ...sqlite }, null, 2));
    return;
  }
  // A million devices and deployments in SQLite take disk the PostgreSQL run needs too.
  if (!args.keep) rmSync(sqliteWork, { recursive: true, force: true });

  const p0 = performance.now();
  const database = await benchDatabase('fota_bench_campaign', args['postgres-url']);
  postgres = database;
  const { tookSeconds: _took, ...onPostgres } = await runStore(join(root, 'postgres'), {
    store: 'postgres',
    databaseUrl: database.url,
    masterKey: randomBytes(32).toString('hex'),
    ...(database.dataDir ? { postgresDataDir: database.dataDir } : {}),
  });
  postgres = undefined;
  await database.close();
  const postgresSeconds = (performance.now() - p0) / 1000;
  console.log(
    JSON.stringify(
      {
        ...header(),
        note: [
          `${availableParallelism()} cores shared by the start's process, the probe process and (on PostgreSQL) the PostgreSQL backends.`,
          `PostgreSQL: ${database.server}; devices inserted by one INSERT ... SELECT over generate_series and VACUUM ANALYZE (insertSeconds is not comparable with SQLite's row-by-row insert).`,
          'otherDevices: every 50 ms a probe process runs what a DM message of another device does at the store level (findDevice, planFumo, a write transaction), alternately outside and inside the cohort; duringStart are the calls that overlapped createCampaign + startCampaign.',
        ].join(' '),
        tookSeconds: { sqlite: sqliteTook, postgres: round(postgresSeconds, 1) },
        startSeconds: { sqlite: sqlite.startSeconds, postgres: onPostgres.startSeconds },
        otherDevicesMaxMsDuringStart: { sqlite: sqlite.otherDevices?.duringStart.maxMs, postgres: onPostgres.otherDevices?.duringStart.maxMs },
        sqlite,
        postgres: onPostgres,
      },
      null,
      2,
    ),
  );
}

async function childMain(mode: string, work: string): Promise<void> {
  if (mode === 'probe') return probe(work);
  const result = mode === 'start' ? await measureStart(work) : await measureAfter(work, args.campaign ?? '');
  await new Promise<void>((resolve, reject) => process.send?.(result, (err: Error | null) => (err ? reject(err) : resolve())));
  // The open IPC channel would keep this process alive.
  process.removeListener('disconnect', orphaned);
  process.disconnect();
}

/** The parent gone (killed), the child has nothing to report to. */
function orphaned(): void {
  process.exit(1);
}

if (args.child) {
  process.once('disconnect', orphaned);
  childMain(args.child, args.work ?? '').catch((err: unknown) => {
    console.error(err);
    // Exit now: the open IPC channel would keep a failed child (and its parent) waiting.
    process.exit(1);
  });
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
