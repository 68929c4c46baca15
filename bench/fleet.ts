// Fleet benchmark: `fota simulate` with N devices (default 2,000) carries a staged campaign
// against one `fota serve`, every part a real process driven through the real CLI
// (`node bin/fota.js ...`). Prints one JSON object:
//   campaign:          its id, final state and each stage (percent, size, succeeded, failed,
//                      failures by FUMO result code);
//   simulatorSummary:  the key counts of the simulator's last JSON line (versions, failures by
//                      code, faults and what became of them, sessions, errors);
//   seconds:           registration (simulator spawned -> the server counts N devices of the
//                      model; includes opening N agents on disk), campaignStartToComplete (the
//                      server's startedAt -> finishedAt, approval of the gated stage included),
//                      simulatorExitAfterComplete (the campaign seen completed -> the simulator
//                      exits with every device settled; negative when the simulator was done
//                      first and the engine completed the campaign at its next evaluation),
//                      total (this whole run, builds included);
//   sessionsPerSecond: DM sessions the fleet ran from the campaign start until it completed (polls
//                      included), per second, as the simulator counts them;
//   server, simulator: peak RSS of the process tree (VmRSS every 500 ms) and CPU seconds
//                      (user + system, reaped children included; the simulator's is its last
//                      sample before it exited, so up to 0.5 s short);
//   checks, ok:        the campaign completed with no deployment left in flight, and the
//                      simulator exited 0 with every device either on the target or reporting
//                      its injected failure.
// The run gives up --timeout minutes after the campaign start (15), or sooner when nothing
// moves (deployment counts, device versions, failures) for --stall seconds (max(180, 6 x
// --poll)); it then stops the simulator with SIGINT, which prints its summary.
// Steps: server with FOTA_CAMPAIGN_TICK_MS=1000 and FOTA_NOTIFY_PER_SECOND=200; an admin
// token from the environment, then a manufacturer token and two operator tokens through
// `fota token create`; builds 1.0 (256 KiB pseudo-random) and 1.1 (a few bytes edited and
// 300 inserted) through `fota build upload`; `fota simulate --until-version 1.1` with
// --faults (default install=1%,cut=2%); once all devices are registered, `fota campaign
// create --stages 1,10!,50,100 --four-eyes --start` by the first operator, and `fota campaign
// approve` of the gated stage by the second.
// Thresholds: --success 0.95, --failure 0.05, --min-sample 100. The failure share is judged
// from each stage's first --min-sample results on, and at --min-sample 10 a single 410 among
// a stage's first 19 results is above 5%: with 1% install failures that is 1 - 0.99^19, about
// 17% per stage and about half the runs over four stages (1 of our first 2 runs). From 100 results on, 1% failures pass 5% only by chance
// (6 of the first 100: well under 1%). Stage 1 (20 devices at 2,000) never reaches 100
// results; it pauses below --success if 2 of its devices carry the install fault (about 1.6%
// of runs, the stage order being a hash of the random campaign id). Small fleets have small
// early stages: at --devices 200 they are 2 and 18 devices, and one install fault there
// (about 1 run in 5) settles the stage below 95%; quick checks use --success 0.5. A paused
// campaign ends the run with ok: false and the pause reason; the bench does not resume it.
// When the run is not ok, `diagnosis` holds the deployments by stage, state and result code
// and a few that never settled, read from the server's database.
// Run: npm run bench:fleet [-- --devices 2000 --poll 30 --faults install=1%,cut=2% --success 0.95
//      --failure 0.05 --min-sample 100 --timeout 15 --stall 180 --keep]
//      (--keep leaves the temp dir: data/fota.db, server.log, simulate.log, fleet/, images/)
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import type { FleetCounts, FleetSummary } from '../src/device/simulate/fleet.ts';
import { processTree, rssKiB } from './proc.ts';
import { spawnServe } from '../test/support/serve-process.ts';

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '2000' },
    poll: { type: 'string', default: '30' },
    faults: { type: 'string', default: 'install=1%,cut=2%' },
    success: { type: 'string', default: '0.95' },
    failure: { type: 'string', default: '0.05' },
    'min-sample': { type: 'string', default: '100' },
    /** Minutes from the campaign start until the run gives up. */
    timeout: { type: 'string', default: '15' },
    /** Seconds with no deployment, version or failure changing before the run gives up (default max(180, 6 x poll)). */
    stall: { type: 'string' },
    /** Keep the temp dir (server data, simulator data, logs) and print where it is. */
    keep: { type: 'boolean', default: false },
  },
});
const DEVICES = Number(args.devices);
const POLL_SECONDS = Number(args.poll);
const TIMEOUT_MS = Number(args.timeout) * 60_000;
const THRESHOLDS = { success: Number(args.success), failure: Number(args.failure), minSample: Number(args['min-sample']) };
const STALL_MS = (args.stall === undefined ? Math.max(180, 6 * POLL_SECONDS) : Number(args.stall)) * 1000;
if (!Number.isInteger(DEVICES) || DEVICES < 1 || !(POLL_SECONDS > 0) || !(TIMEOUT_MS > 0) || !(STALL_MS > 0) || !Number.isInteger(THRESHOLDS.minSample) || THRESHOLDS.minSample < 1 || ![THRESHOLDS.success, THRESHOLDS.failure].every((t) => t >= 0 && t <= 1)) {
  console.error('usage: npm run bench:fleet -- [--devices N] [--poll SECONDS] [--faults SPEC] [--success 0.95] [--failure 0.05] [--min-sample 100] [--timeout MINUTES] [--stall SECONDS] [--keep]');
  process.exit(2);
}

const MODEL = 'sim-x';
const MANUFACTURER = 'acme';
const FROM_VERSION = '1.0';
const TO_VERSION = '1.1';
const IMAGE_BYTES = 256 * 1024;
const STAGES = '1,10!,50,100';
/** FOTA_CAMPAIGN_TICK_MS is 1000: the engine has had 15 chances to complete by then. */
const COMPLETION_GRACE_MS = 15_000;
const ADMIN_TOKEN = `adm_${randomBytes(24).toString('hex')}`;
const CLI = join(process.cwd(), 'bin', 'fota.js');
const round = (n: number, digits = 1) => Number(n.toFixed(digits));
const MiB = 1024;
const benchStarted = performance.now();
const elapsed = (from: number, to = performance.now()) => round((to - from) / 1000, 1);
const note = (line: string) => console.error(`[fleet ${elapsed(benchStarted)}s] ${line}`);
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

const work = mkdtempSync(join(tmpdir(), 'fota-bench-fleet-'));
const children = new Set<ChildProcess>();
let serverStderrLines = 0;
// However this process ends (an error, a closed pipe, Ctrl-C), no child outlives it.
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  if (!args.keep) rmSync(work, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

// --- processes -----------------------------------------------------------------------------

/** Server and token reach the CLI through FOTA_SERVER and FOTA_TOKEN, not argv that `ps` shows. */
interface Access {
  server: string;
  token: string;
}
const cliEnv = (access: Access) => ({ ...process.env, FOTA_SERVER: access.server, FOTA_TOKEN: access.token });

/** A `fota` command run to its end: its exit code and output. */
async function fota(argv: string[], access: Access, what: string): Promise<{ stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: cliEnv(access) });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (piece: Buffer) => (stdout += piece.toString()));
  child.stderr.on('data', (piece: Buffer) => (stderr += piece.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode) => resolve(exitCode));
  });
  children.delete(child);
  if (code !== 0) throw new Error(`${what}: fota ${argv[0]} ${argv[1] ?? ''} exited with ${code}\n${stderr.trim()}\n${stdout.trim()}`);
  return { stdout, stderr };
}

function match(text: string, pattern: RegExp, what: string): string {
  const found = pattern.exec(text)?.[1];
  if (found === undefined) throw new Error(`${what}: no ${pattern} in ${JSON.stringify(text.slice(0, 500))}`);
  return found;
}

/** CPU seconds of a process tree: the root's own and its reaped children's, plus live descendants'. */
function treeCpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      // After the ")" that ends the command name: utime, stime, cutime, cstime are 11..14.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
      ticks += (fields[11] ?? 0) + (fields[12] ?? 0) + (p === pid ? (fields[13] ?? 0) + (fields[14] ?? 0) : 0);
    } catch {
      // gone meanwhile
    }
  }
  return ticks / CLOCK_TICKS;
}

/** Peak RSS of the tree and the last CPU reading, every 500 ms while the process lives. */
class Sampler {
  peakKiB = 0;
  cpuSeconds = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(private readonly pid: number) {
    this.timer = setInterval(() => this.sample(), 500);
    this.sample();
  }
  sample(): void {
    const pids = processTree(this.pid);
    const rss = pids.reduce((sum, p) => sum + rssKiB(p), 0);
    if (rss === 0) return; // gone: keep the last readings
    this.peakKiB = Math.max(this.peakKiB, rss);
    this.cpuSeconds = Math.max(this.cpuSeconds, treeCpuSeconds(this.pid));
  }
  stop(): { peakRssMiB: number; cpuSeconds: number } {
    this.sample();
    clearInterval(this.timer);
    return { peakRssMiB: round(this.peakKiB / MiB), cpuSeconds: round(this.cpuSeconds, 1) };
  }
}

async function startServer(): Promise<{ url: string; child: ChildProcess }> {
  const serverLog = join(work, 'server.log');
  const { url, child } = await spawnServe({
    dataDir: join(work, 'data'),
    artifactsDir: join(work, 'artifacts'),
    env: {
      FOTA_ADMIN_TOKEN: ADMIN_TOKEN,
      FOTA_CAMPAIGN_TICK_MS: '1000',
      FOTA_NOTIFY_PER_SECOND: '200',
      // The simulated devices' Package 0 webhook listens on 127.0.0.1.
      FOTA_WEBHOOK_ALLOW_PRIVATE: 'true',
    },
    stderr: 'pipe',
  });
  children.add(child);
  // Warnings and errors go to a log in the temp dir (kept with --keep), and are counted.
  child.stderr?.on('data', (piece: Buffer) => {
    writeFileSync(serverLog, piece, { flag: 'a' });
    serverStderrLines += piece.toString().split('\n').filter(Boolean).length;
  });
  for (let tries = 0; ; tries++) {
    const res = await fetch(`${url}/healthz`).catch(() => undefined);
    if (res?.ok) break;
    if (tries > 100) throw new Error(`${url}/healthz is not ok after 10 s`);
    await sleep(100);
  }
  return { url, child };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function get<T>(base: string, path: string, token: string): Promise<T> {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

// --- images --------------------------------------------------------------------------------

// As test/support/harness.ts makes them (that module imports vitest, so not imported here).
function pseudoRandom(size: number, seed: string): Buffer {
  const out = Buffer.alloc(size);
  for (let offset = 0, n = 0; offset < size; n += 1) offset += createHash('sha256').update(`${seed}:${n}`).digest().copy(out, offset);
  return out;
}

/** The next build: a byte flipped every 37,001 and 300 new bytes inserted at 5,000. */
function nextBuild(image: Buffer, seed: string): Buffer {
  const edited = Buffer.from(image);
  for (let at = 1000; at < edited.length; at += 37_001) edited[at] = (edited[at] ?? 0) ^ 0xff;
  return Buffer.concat([edited.subarray(0, 5000), pseudoRandom(300, seed), edited.subarray(5000)]);
}

// --- the simulator -------------------------------------------------------------------------

/** One JSON line of `fota simulate`: progress counts, or the final summary. */
type FleetLine = FleetCounts & Partial<Omit<FleetSummary, keyof FleetCounts>> & { type: 'progress' | 'summary' };

class Simulator {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  last: FleetLine | undefined;
  summary: FleetLine | undefined;
  /** The simulator's own lines (registration, device errors), the latest ones. */
  readonly stderrTail: string[] = [];
  stderrLines = 0;
  readyAt: number | undefined;

  constructor(argv: string[], access: Access) {
    this.child = spawn(process.execPath, [CLI, 'simulate', ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: cliEnv(access) });
    children.add(this.child);
    const log = join(work, 'simulate.log');
    let out = '';
    this.child.stdout?.on('data', (piece: Buffer) => {
      out += piece.toString();
      const lines = out.split('\n');
      out = lines.pop() ?? '';
      for (const line of lines) this.read(line);
    });
    let err = '';
    this.child.stderr?.on('data', (piece: Buffer) => {
      writeFileSync(log, piece, { flag: 'a' });
      err += piece.toString();
      const lines = err.split('\n');
      err = lines.pop() ?? '';
      for (const line of lines) {
        this.stderrLines += 1;
        if (/devices ready in/.test(line)) this.readyAt = performance.now();
        this.stderrTail.push(line);
        if (this.stderrTail.length > 20) this.stderrTail.shift();
      }
    });
    this.exited = new Promise((resolve, reject) => {
      this.child.once('error', reject);
      this.child.once('close', (code) => {
        if (out.trim()) this.read(out);
        resolve(code);
      });
    });
  }

  private read(line: string): void {
    if (!line.trim().startsWith('{')) return;
    try {
      const parsed = JSON.parse(line) as FleetLine;
      this.last = parsed;
      if (parsed.type === 'summary') this.summary = parsed;
    } catch {
      // not one of its JSON lines
    }
  }
}

/** The summary's key counts (the whole line also lists image store and patch details). */
function trimSummary(s: FleetLine | undefined) {
  if (!s) return null;
  return {
    devices: s.devices,
    reached: s.reached ?? null,
    byVersion: s.byVersion,
    failuresByCode: s.failuresByCode,
    faults: s.faults ?? {},
    sessions: s.sessions,
    jobs: s.jobs,
    notifications: s.notifications,
    errors: s.errors,
    bytesDownloadedMiB: round(s.bytesDownloaded / (1024 * 1024), 2),
    elapsedSeconds: s.elapsedSeconds,
    ...(s.errorSamples?.length ? { errorSamples: s.errorSamples } : {}),
  };
}

// --- the campaign --------------------------------------------------------------------------

interface StageView {
  index: number;
  percent: number;
  requiresApproval: boolean;
  state: 'pending' | 'awaitingApproval' | 'running' | 'done';
  size: number;
  counts: Record<string, number>;
  failures: Record<string, number>;
  approvedBy: string | null;
}

interface CampaignView {
  id: string;
  state: 'draft' | 'running' | 'paused' | 'completed' | 'aborted';
  pausedReason?: string;
  currentStage: number;
  cohortSize: number;
  startedAt: string | null;
  finishedAt: string | null;
  stages: StageView[];
  totals: Record<string, number>;
  bytesServed: number;
}

const IN_FLIGHT = ['pending', 'scheduled', 'commanded', 'downloading', 'installing'];
const inFlight = (counts: Record<string, number>) => IN_FLIGHT.reduce((sum, s) => sum + (counts[s] ?? 0), 0);
const unsettledCounts = (counts: Record<string, number>) => Object.fromEntries(IN_FLIGHT.filter((s) => (counts[s] ?? 0) > 0).map((s) => [s, counts[s]]));

function stageLine(view: CampaignView): string {
  return view.stages.map((s) => `${s.percent}%${s.requiresApproval ? '!' : ''} ${s.state} ${s.counts.succeeded ?? 0}+${s.counts.failed ?? 0}x/${s.size}`).join(' | ');
}

/** What the database says about a campaign that did not finish cleanly. */
function diagnose(campaignId: string | undefined) {
  const path = join(work, 'data', 'fota.db');
  if (!campaignId || !existsSync(path)) return undefined;
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const byState = db
      .prepare('SELECT stage, state, result_code AS resultCode, COUNT(*) AS n FROM deployments WHERE campaign_id = ? GROUP BY stage, state, result_code ORDER BY stage, state')
      .all(campaignId);
    const unsettled = db
      .prepare(
        `SELECT device_id AS deviceId, stage, state, attempts, not_before AS notBefore, updated_at AS updatedAt, history FROM deployments
         WHERE campaign_id = ? AND state NOT IN ('succeeded', 'failed', 'canceled') ORDER BY updated_at LIMIT 5`,
      )
      .all(campaignId) as Array<{ history: string; updatedAt: number }>;
    const campaign = db.prepare('SELECT * FROM campaigns WHERE id = ?').get(campaignId);
    const stages = db.prepare('SELECT * FROM campaign_stages WHERE campaign_id = ?').all(campaignId);
    return {
      deploymentsByStageStateCode: byState,
      unsettled: unsettled.map((d) => ({ ...d, history: safeJson(d.history), updatedSecondsAgo: round((Date.now() - d.updatedAt) / 1000) })),
      campaignRow: campaign,
      stageRows: stages,
    };
  } finally {
    db.close();
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

// --- the run -------------------------------------------------------------------------------

async function main() {
  const { url, child: server } = await startServer();
  const serverSampler = new Sampler(server.pid ?? 0);
  const as = (token: string): Access => ({ server: url, token });
  note(`server at ${url}`);

  // Tokens through the CLI, as people get them.
  const token = async (role: string, name: string, extra: string[] = []) =>
    match((await fota(['token', 'create', '--role', role, '--name', name, ...extra], as(ADMIN_TOKEN), `token ${name}`)).stdout, /^token: (\S+)/m, `token ${name}`);
  const manufacturerToken = await token('manufacturer', 'bench acme ci', ['--manufacturer', MANUFACTURER]);
  const operator = await token('operator', 'bench operator 1');
  const approver = await token('operator', 'bench operator 2');

  // Two builds: 1.0 is what the devices run, 1.1 the target (a delta from 1.0).
  const imagesDir = join(work, 'images');
  mkdirSync(imagesDir);
  const v1 = pseudoRandom(IMAGE_BYTES, 'bench-fleet');
  const v1Path = join(imagesDir, `v${FROM_VERSION}.bin`);
  const v2Path = join(imagesDir, `v${TO_VERSION}.bin`);
  writeFileSync(v1Path, v1);
  writeFileSync(v2Path, nextBuild(v1, 'bench-fleet-next'));
  const buildsStarted = performance.now();
  const upload = async (path: string, version: string) => {
    const { stdout } = await fota(['build', 'upload', path, '--model', MODEL, '--version', version], as(manufacturerToken), `build ${version}`);
    return { id: match(stdout, /^id: (\S+)/m, `build ${version}`), packages: stdout.split('\n').filter((l) => /^\s+\S/.test(l)).map((l) => l.trim().replace(/\s+/g, ' ')) };
  };
  await upload(v1Path, FROM_VERSION);
  const target = await upload(v2Path, TO_VERSION);
  const buildsSeconds = elapsed(buildsStarted);
  note(`builds ready in ${buildsSeconds} s; target ${target.id}: ${target.packages.join('; ')}`);

  // The fleet: it registers its devices itself, then polls and answers Package 0.
  const simStarted = performance.now();
  const sim = new Simulator([
    '--devices', String(DEVICES),
    '--model', MODEL,
    '--version', FROM_VERSION,
    '--image', v1Path,
    '--manufacturer', MANUFACTURER,
    '--until-version', TO_VERSION,
    '--faults', args.faults ?? '',
    '--poll', String(POLL_SECONDS),
    '--status-every', '1',
    '--data', join(work, 'fleet'),
  ], as(operator));
  const simSampler = new Sampler(sim.child.pid ?? 0);
  let simExit: number | null | undefined;
  let simExitAt: number | undefined;
  void sim.exited.then((code) => {
    simExit = code;
    simExitAt = performance.now();
  });

  let registered = 0;
  while (registered < DEVICES) {
    if (simExit !== undefined) throw new Error(`fota simulate exited with ${simExit} before registering its devices:\n${sim.stderrTail.join('\n')}`);
    const preview = await get<{ devices: number }>(url, `/api/v1/cohorts/preview?model=${MODEL}`, operator);
    registered = preview.devices;
    if (registered < DEVICES) await sleep(500);
  }
  const registrationSeconds = elapsed(simStarted);
  note(`${DEVICES} devices registered in ${registrationSeconds} s (agents ready after ${sim.readyAt === undefined ? '?' : elapsed(simStarted, sim.readyAt)} s)`);

  // The campaign, by the first operator; the gated stage approved by the second.
  const created = await fota(
    ['campaign', 'create', '--name', `bench fleet ${DEVICES}`, '--build', target.id, '--stages', STAGES, '--success', String(THRESHOLDS.success), '--failure', String(THRESHOLDS.failure), '--min-sample', String(THRESHOLDS.minSample), '--four-eyes', '--start'],
    as(operator),
    'campaign create',
  );
  const campaignId = created.stdout.trim().split('\n').at(-1)?.trim() ?? '';
  const campaignCreated = performance.now();
  const sessionsAtStart = sim.last?.sessions ?? 0;
  const simSecondsAtStart = sim.last?.elapsedSeconds ?? 0;
  note(`campaign ${campaignId} started`);

  const deadline = campaignCreated + TIMEOUT_MS;
  const approvals: Array<{ stage: number; afterSeconds: number }> = [];
  let view = await get<CampaignView>(url, `/api/v1/campaigns/${campaignId}`, operator);
  let awaitingSince: number | undefined;
  let shownAt = 0;
  let stopReason: string | undefined;
  let completedAt: number | undefined;
  let atComplete: { sessions: number; seconds: number } | undefined;
  // What counts as progress: deployments moving, devices changing version or failing.
  let progress = '';
  let movedAt = performance.now();
  let simExitedAt: number | undefined;
  for (;;) {
    const now = performance.now();
    const signature = JSON.stringify([view.state, view.totals, sim.last?.byVersion, sim.last?.failuresByCode, sim.last?.jobs]);
    if (signature !== progress) {
      progress = signature;
      movedAt = now;
    }
    if (view.state === 'completed') {
      if (completedAt === undefined) {
        completedAt = now;
        atComplete = { sessions: sim.last?.sessions ?? 0, seconds: sim.last?.elapsedSeconds ?? 0 };
        note(`campaign completed${inFlight(view.totals) ? ` with ${inFlight(view.totals)} deployment(s) still in flight: ${JSON.stringify(unsettledCounts(view.totals))}` : ''}`);
      }
      if (simExit !== undefined) break;
    } else if (view.state === 'paused' || view.state === 'aborted') {
      stopReason = `campaign ${view.state}: ${view.pausedReason ?? 'no reason given'}`;
      break;
    } else if (simExit !== undefined) {
      // The engine completes the campaign at its next evaluation after the last result
      // (within about a second): give it a few ticks before calling it stuck.
      simExitedAt ??= now;
      if (now - simExitedAt > COMPLETION_GRACE_MS) {
        stopReason = `fota simulate exited with ${simExit}, and ${elapsed(simExitedAt, now)} s later the campaign is still ${view.state}`;
        break;
      }
    }
    const stuck = now - movedAt > STALL_MS;
    if (now > deadline || stuck) {
      const left = inFlight(view.totals) ? `, with ${inFlight(view.totals)} deployment(s) not settled ${JSON.stringify(unsettledCounts(view.totals))}` : '';
      stopReason = `${stuck ? `stalled: nothing moved for ${Math.round(STALL_MS / 1000)} s` : `timeout: ${args.timeout} min after the campaign start`}; the campaign is ${view.state}${left}; the fleet runs ${JSON.stringify(sim.last?.byVersion ?? {})}`;
      break;
    }
    const waiting = view.stages.find((s) => s.state === 'awaitingApproval');
    if (waiting) {
      awaitingSince ??= performance.now();
      await fota(['campaign', 'approve', campaignId, '--reason', 'bench: stage 1 looks good'], as(approver), `approve stage ${waiting.index + 1}`);
      approvals.push({ stage: waiting.index + 1, afterSeconds: elapsed(awaitingSince) });
      awaitingSince = undefined;
      note(`stage ${waiting.index + 1} approved by the second operator`);
    }
    if (performance.now() - shownAt > 10_000) {
      shownAt = performance.now();
      const fleet = sim.last;
      note(`${view.state} ${stageLine(view)}${fleet ? ` || fleet ${JSON.stringify(fleet.byVersion)} sessions ${fleet.sessions} errors ${fleet.errors}` : ''}`);
    }
    await sleep(500);
    view = await get<CampaignView>(url, `/api/v1/campaigns/${campaignId}`, operator);
  }
  const simEnded = simExitAt ?? performance.now();
  if (simExit === undefined) {
    // Stopped early: Ctrl-C makes the simulator print its summary (and exit 1).
    sim.child.kill('SIGINT');
    await Promise.race([sim.exited, sleep(30_000)]);
  }
  const simulator = simSampler.stop();
  const serverUse = serverSampler.stop();
  note(stopReason ?? `campaign completed; simulator exited ${simExit}`);

  // Sessions over the campaign (start -> completed), as the simulator counted them.
  const end = atComplete ?? { sessions: (sim.summary ?? sim.last)?.sessions ?? 0, seconds: (sim.summary ?? sim.last)?.elapsedSeconds ?? 0 };
  const summary = sim.summary;
  const checks = {
    campaignCompleted: view.state === 'completed',
    noDeploymentLeftInFlight: inFlight(view.totals) === 0,
    simulatorExited0: simExit === 0,
    everyDeviceUpdatedOrReportedItsFault: summary?.reached === true,
  };
  const ok = stopReason === undefined && Object.values(checks).every(Boolean);
  const startedAtMs = view.startedAt ? Date.parse(view.startedAt) : undefined;
  const finishedAtMs = view.finishedAt ? Date.parse(view.finishedAt) : undefined;

  const result = {
    benchmark: 'fleet',
    cores: availableParallelism(),
    loadavg1: round(loadavg()[0] ?? 0, 2),
    devices: DEVICES,
    setup: { imageBytes: IMAGE_BYTES, faults: args.faults, pollSeconds: POLL_SECONDS, stages: STAGES, thresholds: THRESHOLDS, targetPackages: target.packages },
    campaign: {
      id: view.id,
      state: view.state,
      ...(view.pausedReason ? { pausedReason: view.pausedReason } : {}),
      cohortSize: view.cohortSize,
      bytesServed: view.bytesServed,
      approvals,
      stages: view.stages.map((s) => ({
        percent: s.percent,
        size: s.size,
        succeeded: s.counts.succeeded ?? 0,
        failed: s.counts.failed ?? 0,
        ...(inFlight(s.counts) ? { inFlight: inFlight(s.counts) } : {}),
        ...(s.counts.canceled ? { canceled: s.counts.canceled } : {}),
        failures: s.failures,
      })),
    },
    simulatorSummary: trimSummary(summary) ?? { missing: 'no summary line', last: sim.last ?? null, exit: simExit ?? null },
    seconds: {
      builds: buildsSeconds,
      registration: registrationSeconds,
      campaignStartToComplete: startedAtMs !== undefined && finishedAtMs !== undefined ? round((finishedAtMs - startedAtMs) / 1000) : null,
      simulatorExitAfterComplete: completedAt === undefined ? null : elapsed(completedAt, simEnded),
      campaignStartToSimulatorExit: elapsed(campaignCreated, simEnded),
      total: elapsed(benchStarted),
    },
    sessionsPerSecond: end.seconds > simSecondsAtStart ? round((end.sessions - sessionsAtStart) / (end.seconds - simSecondsAtStart)) : null,
    server: { ...serverUse, warnLogLines: serverStderrLines },
    simulator: { ...simulator, exitCode: simExit ?? null, stderrLines: sim.stderrLines },
    checks,
    ok,
    ...(stopReason ? { stopReason } : {}),
    ...(ok ? {} : { simulatorStderrTail: sim.stderrTail, diagnosis: diagnose(campaignId) }),
    ...(args.keep ? { keptIn: work } : {}),
  };
  console.log(JSON.stringify(result, null, 2));
  if (!ok) process.exitCode = 1;
}

async function stopAll(): Promise<void> {
  await Promise.all(
    [...children].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
          child.once('exit', () => {
            clearTimeout(force);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  children.clear();
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    await stopAll();
    if (!args.keep) rmSync(work, { recursive: true, force: true });
  });
