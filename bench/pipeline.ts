// Pipeline benchmark: a real server, a `fota serve` child process run as production runs it
// (dist/, bench/server-build.ts; --from-source: the sources through tsx), on loopback HTTP,
// SQLite, a local artifact store and its DeltaPool, against plain tools on the same machine,
// in the same run. Prints one JSON object on stdout (progress goes to stderr):
//   pipeline: a build of esbuild "0.25.1" (0.25.0 with a few hundred bytes flipped) after
//             0.24.0, 0.24.1 and 0.25.0 are ready, so it gets 3 deltas plus a full package;
//             time from its upload's 202 to `ready`, against Debian's bsdiff doing the same
//             three diffs one after another, run just before and just after the build so that
//             load drifting on the machine hits both alike (the mean of the two counts; goal:
//             ratio <= 0.6 on 2 cores); when each of its
//             package jobs started and how long it took (from the server's own log, its
//             stdout at level info); peak RSS of the server and its children (the bsdiff
//             processes), sampled every 100 ms, against the delta memory budget it was given.
//   upload:   HTTP upload (node:http, streamed from disk, with Content-Length, from a client
//             process of its own as a real uploader is: upload-client.ts) of the 10 MB
//             0.25.0 image and of a 200 MB pseudo-random file, against `cp` of the same file
//             on the same disk then `sync` of the copy (the server fsyncs its file), in MB/s
//             (10^6 bytes). Rounds of a cp then an upload, back to back, so load drifting on
//             the machine hits both alike: 7 of 10 MB, 5 of 200 MB, after one untimed round
//             of each (as cp's binary and the files are warm in the page cache); the server
//             idle before each upload (what the last round's package job left is done).
//             goal: the median of the rounds' ratios >= 0.5; their spread is printed. Beside
//             them, CPU ms per MB (median of the rounds): the server's (all its threads, and
//             by group: the event loop every other request waits for, the hashing thread,
//             libuv's pool that writes and fsyncs, V8's own threads: compiler and garbage
//             collector), the client's, cp's; and how long the server's threads waited for
//             a CPU (other work on the machine). Per-thread times come from schedstat
//             (thread-times.ts), in ns: clock ticks were 10 ms, a quarter of a 10 MB upload.
// The machine's load average is printed too: other work on it skews every wall time here,
// so CPU times are given beside them (the bsdiff processes' from the server's
// /proc/<pid>/stat cutime + cstime, which counts every child it has reaped; the CLI runs'
// from this process's).
//   goals:    issue 14's: pipeline ratio <= 0.6, every upload ratio >= 0.5; each with `met`.
// Run: npm run bench:pipeline [-- --upload-only --from-source]   (needs Debian's bsdiff: apt-get install -y bsdiff)
//   --upload-only skips the pipeline part
//   --from-source runs the server from src/ through tsx (as the tests do) instead of dist/
//   "--server-node-args=..." passes node flags to the server, e.g. to profile its uploads:
//             -- --upload-only "--server-node-args=--cpu-prof --cpu-prof-dir=/tmp/prof"
import { execFileSync, spawnSync } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { exited, type ServeProcess, spawnServe } from '../test/support/serve-process.ts';
import { cpuSecondsOf, processTree, rssKiB } from './proc.ts';
import { serverBuild } from './server-build.ts';
import { sumMs, threadDelta, threadIoBytes, type ThreadTime, threadTimes } from './thread-times.ts';
import { UploadClient } from './upload-client.ts';

const { values: args } = parseArgs({
  options: {
    'upload-only': { type: 'boolean', default: false },
    'from-source': { type: 'boolean', default: false },
    'server-node-args': { type: 'string', default: '' },
  },
});
const GOALS = { pipelineRatioAtMost: 0.6, uploadRatioAtLeast: 0.5 };
const FIXTURES = '.fixtures/firmware';
const SOURCES = ['0.24.0', '0.24.1', '0.25.0'] as const;
const TARGET = '0.25.1';
const MODEL = 'esbuild-linux-x64';
const DELTA_MEMORY_BUDGET = 1.5 * 1024 * 1024 * 1024;
const POOL_CONCURRENCY = availableParallelism();
/** One flipped byte every 32 KiB of the 10 MB image: about 310 changed bytes. */
const FLIP_EVERY = 32 * 1024;
const LARGE_BYTES = 200 * 1000 * 1000;
/** Timed rounds per file (a cp and an upload each); the median ratio and the spread are reported. */
const UPLOAD_ROUNDS = { small: 7, large: 5 };
/**
 * Untimed rounds of each file first. After one upload of 10 MB, the first 200 MB upload
 * still had V8's threads busy (a quarter of the server's CPU); a round of each size settles
 * them.
 */
const UPLOAD_WARM_UP_ROUNDS = 1;
/** Polling only tells when to stop; readyMs comes from the build's readyAt, so it can be slow. */
const POLL_MS = 200;
const SAMPLE_MS = 100;
const image = (v: string) => join(FIXTURES, `esbuild-${v}.bin`);
const round = (n: number, digits = 2) => Number(n.toFixed(digits));
const mib = (bytes: number) => round(bytes / 1024 / 1024, 1);
const progress = (message: string) => console.error(`bench:pipeline: ${message}`);

if (spawnSync('sh', ['-c', 'command -v bsdiff']).status !== 0) {
  console.error("bench:pipeline needs Debian's bsdiff on the PATH: apt-get install -y bsdiff");
  process.exit(2);
}
execFileSync('bash', ['scripts/fetch-firmware.sh', FIXTURES], { stdio: ['ignore', 'ignore', 'inherit'] });
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const serverCode = serverBuild(args['from-source'] === true);
const work = mkdtempSync(join(tmpdir(), 'fota-bench-pipeline-'));

// --- process-tree memory -------------------------------------------------------------------

/** RSS of the server plus all of its descendants (the bsdiff processes), from /proc. */
function treeRss(root: number): { total: number; children: number; self: number } {
  const [self = 0, ...rest] = processTree(root).map((pid) => rssKiB(pid) * 1024);
  const children = rest.reduce((sum, bytes) => sum + bytes, 0);
  return { total: self + children, children, self };
}

class RssSampler {
  peakTotal = 0;
  peakChildren = 0;
  peakSelf = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly serverPid: number) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }

  private sample(): void {
    const { total, children, self } = treeRss(this.serverPid);
    this.peakTotal = Math.max(this.peakTotal, total);
    this.peakChildren = Math.max(this.peakChildren, children);
    this.peakSelf = Math.max(this.peakSelf, self);
  }
}

/**
 * CPU time of a process's reaped children (and theirs), in ms: this process's (the CLI's
 * bsdiff, cp) or the server's (its pool's bsdiff processes).
 */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
function childrenCpuMs(pid: number | 'self' = 'self'): number {
  // Fields after the ")" that ends the command name: state is field 3, cutime 16, cstime 17.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS;
}

// --- the server's job log ----------------------------------------------------------------

interface JobLogLine {
  time: number;
  msg: string;
  jobId?: string;
  buildId?: string;
  sourceBuildId?: string | null;
  ms?: number;
  kind?: string;
}

interface JobTiming {
  kind: string;
  /** Source version of a delta; null for the full package. */
  from: string | null;
  /** When the job started, relative to the 202 (the runner is woken just before it is sent). */
  startMs: number;
  ms: number;
}

/** Keeps the runner's job lines (pino JSON, a line each, on the server's stdout) so the bench can show the schedule. */
class JobLog {
  readonly lines: JobLogLine[] = [];

  /** Reads the server's stdout from now on (what it printed until it listened is not a job). */
  follow(server: ServeProcess): void {
    if (server.child.stdout) createInterface({ input: server.child.stdout }).on('line', (line) => this.write(line));
  }

  private write(line: string): void {
    if (!line.startsWith('{')) return; // a line of the command's own, not the log's
    const entry = JSON.parse(line) as JobLogLine;
    if (entry.msg.startsWith('package job')) this.lines.push(entry);
  }

  /** Each job of a build: start relative to `since` (ms since the epoch) and duration. */
  scheduleOf(buildId: string, since: number, versions: Map<string, string>): JobTiming[] {
    const started = new Map<string, JobLogLine>();
    const jobs: JobTiming[] = [];
    for (const line of this.lines) {
      if (line.buildId !== buildId || !line.jobId) continue;
      if (line.msg === 'package job started') started.set(line.jobId, line);
      const start = started.get(line.jobId);
      if (line.msg === 'package job finished' && start) {
        const from = start.sourceBuildId ? (versions.get(start.sourceBuildId) ?? start.sourceBuildId) : null;
        jobs.push({ kind: line.kind ?? 'none', from, startMs: start.time - since, ms: line.ms ?? Number.NaN });
      }
    }
    return jobs;
  }
}

// --- HTTP ----------------------------------------------------------------------------------

interface Uploaded {
  id: string;
  /** Wall clock (Date.now()) when the 202 arrived, to compare with the build's readyAt. */
  answeredAt: number;
  ms: number;
  /** The client process's CPU for it. */
  clientCpuMs: number;
}

/** Streams a file to POST /api/v1/builds from the client process (node:http, Content-Length set). */
async function upload(client: UploadClient, serverUrl: string, token: string, path: string, version: string, model = MODEL): Promise<Uploaded> {
  const url = new URL(`/api/v1/builds?model=${encodeURIComponent(model)}&version=${encodeURIComponent(version)}`, serverUrl);
  const { status, body, ms, cpuMs } = await client.upload({ url: url.href, path, headers: { authorization: `Bearer ${token}` } });
  const answeredAt = Date.now();
  if (status !== 202) throw new Error(`upload of ${path} as ${model} ${version}: HTTP ${status}: ${body}`);
  const parsed = JSON.parse(body) as { id?: unknown };
  if (typeof parsed.id !== 'string') throw new Error(`upload answered 202 without a build id: ${body}`);
  return { id: parsed.id, answeredAt, ms, clientCpuMs: cpuMs };
}

interface BuildStatus {
  status: 'processing' | 'ready' | 'failed';
  failureReason: string | null;
  readyAt: string | null;
  packages: Array<{ kind: string; fromVersion: string | null }>;
}

async function waitReady(serverUrl: string, token: string, id: string): Promise<BuildStatus> {
  for (;;) {
    const res = await fetch(`${serverUrl}/api/v1/builds/${id}`, { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) throw new Error(`GET /api/v1/builds/${id}: HTTP ${res.status}: ${await res.text()}`);
    const build = (await res.json()) as BuildStatus;
    if (build.status === 'failed') throw new Error(`build ${id} failed: ${build.failureReason ?? 'no reason given'}`);
    if (build.status === 'ready') return build;
    await sleep(POLL_MS);
  }
}

// --- inputs --------------------------------------------------------------------------------

/** 0.25.0 with one byte inverted every FLIP_EVERY bytes: a distinct, deterministic 4th image. */
function writeTargetImage(path: string): number {
  const bytes = readFileSync(image('0.25.0'));
  let flipped = 0;
  for (let at = FLIP_EVERY / 2; at < bytes.length; at += FLIP_EVERY) {
    bytes[at] = (bytes[at] ?? 0) ^ 0xff;
    flipped += 1;
  }
  writeFileSync(path, bytes);
  return flipped;
}

/** Deterministic incompressible bytes, fast: AES-256-CTR over zeros with a fixed key. */
function writePseudoRandom(path: string, size: number): void {
  const cipher = createCipheriv('aes-256-ctr', Buffer.alloc(32, 7), Buffer.alloc(16, 0));
  const zeros = Buffer.alloc(4 * 1024 * 1024);
  const fd = openSync(path, 'w');
  try {
    for (let left = size; left > 0; left -= zeros.length) {
      writeSync(fd, cipher.update(zeros.subarray(0, Math.min(left, zeros.length))));
    }
  } finally {
    closeSync(fd);
  }
}

function sh(script: string): void {
  const result = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${script}: ${result.stderr.trim() || `exit code ${result.status}`}`);
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

// --- the runs ------------------------------------------------------------------------------

function cliSequential(target: string): { ms: number; cpuMs: number; peakRssMiB: number | null } {
  const cpuBefore = childrenCpuMs();
  let ms = 0;
  let peakKb = Number.NaN;
  for (const from of SOURCES) {
    const out = join(work, `cli-${from}.bsdiff`);
    const started = performance.now();
    // GNU time, when installed, reports the child's peak RSS (kB) on its last stderr line.
    const result = GNU_TIME
      ? spawnSync(GNU_TIME, ['-f', '%M', 'bsdiff', image(from), target, out], { encoding: 'utf8' })
      : spawnSync('bsdiff', [image(from), target, out], { encoding: 'utf8' });
    ms += performance.now() - started;
    if (result.status !== 0) throw new Error(`bsdiff ${from} -> ${TARGET} failed: ${result.stderr.trim()}`);
    const kb = GNU_TIME ? Number(result.stderr.trim().split('\n').pop()) : Number.NaN;
    if (Number.isFinite(kb)) peakKb = Number.isFinite(peakKb) ? Math.max(peakKb, kb) : kb;
    rmSync(out, { force: true });
  }
  return { ms, cpuMs: childrenCpuMs() - cpuBefore, peakRssMiB: Number.isFinite(peakKb) ? mib(peakKb * 1024) : null };
}

/** The server under test, the upload client and a manufacturer's token. */
interface Bench {
  server: ServeProcess;
  pid: number;
  threads: ServerThreads;
  client: UploadClient;
  token: string;
}

async function runPipeline(bench: Bench, target: string, jobLog: JobLog) {
  const sampler = new RssSampler(bench.pid);
  const versions = new Map<string, string>();
  const { server, token } = bench;
  sampler.start();
  try {
    for (const version of SOURCES) {
      progress(`uploading ${version} and waiting until it is ready`);
      const { id } = await upload(bench.client, server.url, token, image(version), version);
      await waitReady(server.url, token, id);
      versions.set(id, version);
    }
    progress('running Debian bsdiff on the three pairs, one after another');
    // Blocks the event loop, so the RSS sampler sees none of it (GNU time gives its peak).
    const cliBefore = cliSequential(target);
    progress(`uploading ${TARGET}: ${SOURCES.length} deltas and a full package`);
    const cpuBefore = { children: childrenCpuMs(bench.pid), server: cpuSecondsOf([bench.pid]) };
    const last = await upload(bench.client, server.url, token, target, TARGET);
    const build = await waitReady(server.url, token, last.id);
    // The upload and the polling's answers are in the server's too; both are small next to the jobs.
    const cpu = { childrenMs: childrenCpuMs(bench.pid) - cpuBefore.children, serverProcessMs: (cpuSecondsOf([bench.pid]) - cpuBefore.server) * 1000 };
    // readyAt is stamped by the server when the last job settles: no polling granularity.
    const readyMs = build.readyAt ? Date.parse(build.readyAt) - last.answeredAt : Number.NaN;
    const deltas = build.packages.filter((p) => p.kind === 'bsdiff40').length;
    if (deltas !== SOURCES.length) {
      throw new Error(`the ${TARGET} build has ${deltas} delta packages, expected ${SOURCES.length}: ${JSON.stringify(build.packages)}`);
    }
    progress(`ready in ${Math.round(readyMs)} ms; Debian bsdiff on the three pairs again`);
    const cliAfter = cliSequential(target);
    const cli = {
      runsMs: [cliBefore.ms, cliAfter.ms],
      ms: (cliBefore.ms + cliAfter.ms) / 2,
      cpuMs: (cliBefore.cpuMs + cliAfter.cpuMs) / 2,
      peakRssMiB: cliBefore.peakRssMiB === null || cliAfter.peakRssMiB === null ? null : Math.max(cliBefore.peakRssMiB, cliAfter.peakRssMiB),
    };
    return { readyMs, cpu, cli, deltas, packages: build.packages.length, jobs: jobLog.scheduleOf(last.id, last.answeredAt, versions), sampler };
  } finally {
    sampler.stop();
  }
}

// --- the server's threads --------------------------------------------------------------

/**
 * The server's threads by what they do, so an upload's CPU can be told apart: its event
 * loop (the process's main thread), libuv's pool (file writes and fsyncs), threads born
 * after it listened (the hashing thread, file-hasher.ts), and the rest, V8's own (the
 * optimising compiler and the garbage collector's helpers). A first round whose V8
 * threads are busy is still compiling, or collecting what an earlier step left.
 */
class ServerThreads {
  private readonly atStart: Set<number>;
  private readonly ioPool = new Set<number>();

  /** Made once the server listens: threads born later are its own (the hashing thread). */
  constructor(private readonly pid: number) {
    this.atStart = new Set(threadTimes(pid).keys());
  }

  /**
   * Finds libuv's pool among the threads there at the start: those (but the event loop)
   * that have read or written files (/proc/<pid>/task/<tid>/io; the server read its
   * migrations through the pool while starting, and an upload's writes go through it).
   * V8's threads do no file I/O: a few bytes at most. Called after an upload.
   */
  findIoPool(): void {
    for (const [tid, bytes] of threadIoBytes(this.pid)) {
      if (tid !== this.pid && this.atStart.has(tid) && bytes >= 64 * 1024) this.ioPool.add(tid);
    }
  }

  /** CPU ms of each group, and ms all threads waited for a CPU, between two readings. */
  split(delta: Map<number, ThreadTime>) {
    const loop = (tid: number) => tid === this.pid;
    const pool = (tid: number) => this.ioPool.has(tid);
    const born = (tid: number) => !this.atStart.has(tid);
    return {
      eventLoop: sumMs(delta, loop).cpu,
      ioPool: sumMs(delta, pool).cpu,
      hashing: sumMs(delta, (tid) => born(tid) && !pool(tid)).cpu,
      v8: sumMs(delta, (tid) => !loop(tid) && !pool(tid) && !born(tid)).cpu,
      total: sumMs(delta).cpu,
      waited: sumMs(delta).wait,
    };
  }
}

/**
 * Waits until the server is idle: what a round's package job left (its page cache freed,
 * garbage collected) is not the next round's upload. At most `maxMs`, then goes on.
 */
async function settle(pid: number, maxMs = 3000): Promise<void> {
  const until = performance.now() + maxMs;
  let before = threadTimes(pid);
  while (performance.now() < until) {
    await sleep(100);
    const now = threadTimes(pid);
    if (sumMs(threadDelta(before, now)).cpu < 3) return;
    before = now;
  }
}

// --- uploads against cp ------------------------------------------------------------------

interface UploadRound {
  cpMBps: number;
  httpMBps: number;
  /** httpMBps / cpMBps of this round: the two ran back to back, so load drift hits both alike. */
  ratio: number;
  cpCpuMsPerMB: number;
  clientCpuMsPerMB: number;
  /** The server's CPU by thread group, and its threads' wait for a CPU, per MB. */
  server: ReturnType<ServerThreads['split']>;
}

/** One cp && sync, then one upload of the same file. */
async function uploadRound(bench: Bench, file: string, bytes: number, model: string): Promise<UploadRound> {
  const mb = bytes / 1e6;
  // Flush what earlier steps left dirty, so each `sync` and fsync pays only for its own file.
  sh('sync');
  const copy = join(work, 'cp-copy');
  const cpuBeforeCp = childrenCpuMs();
  const started = performance.now();
  // `sync` of the copy alone, as the server fsyncs its file alone: a `sync` of everything
  // also waited for whatever other work on the machine had written (cp's time swung from
  // 37 to 1,500 MB/s on 200 MB within one run at load 14).
  sh(`cp ${quote(file)} ${quote(copy)} && sync ${quote(copy)}`);
  const cpMBps = mb / ((performance.now() - started) / 1000);
  const cpCpuMsPerMB = (childrenCpuMs() - cpuBeforeCp) / mb;
  rmSync(copy, { force: true });

  sh('sync');
  await settle(bench.pid);
  const before = threadTimes(bench.pid);
  const sent = await upload(bench.client, bench.server.url, bench.token, file, '1.0.0', model);
  const used = bench.threads.split(threadDelta(before, threadTimes(bench.pid)));
  const perMB = Object.fromEntries(Object.entries(used).map(([k, ms]) => [k, ms / mb])) as typeof used;
  const httpMBps = mb / (sent.ms / 1000);
  // Its full-package job copies and fsyncs the image too: let it finish before the next round.
  await waitReady(bench.server.url, bench.token, sent.id);
  return { cpMBps, httpMBps, ratio: httpMBps / cpMBps, cpCpuMsPerMB, clientCpuMsPerMB: sent.clientCpuMs / mb, server: perMB };
}

const spread = (values: number[]) => ({ median: round(median(values)), min: round(Math.min(...values)), max: round(Math.max(...values)) });

async function uploadSpeed(bench: Bench, file: string, label: string, rounds: number) {
  const bytes = statSync(file).size;
  progress(`${label}: ${UPLOAD_WARM_UP_ROUNDS} untimed round(s), then ${rounds} timed`);
  for (let k = 0; k < UPLOAD_WARM_UP_ROUNDS; k += 1) await uploadRound(bench, file, bytes, `bench-warm-up-${label}-${k + 1}`);
  // The untimed rounds' writes went through libuv's pool.
  bench.threads.findIoPool();
  const timed: UploadRound[] = [];
  for (let k = 0; k < rounds; k += 1) {
    // A model of its own per round: an earlier version would queue a delta job (and, for the
    // 200 MB file, one bigger than the delta memory budget).
    const r = await uploadRound(bench, file, bytes, `bench-upload-${label}-${k + 1}`);
    timed.push(r);
    const s = r.server;
    progress(
      `${label} round ${k + 1}: http ${round(r.httpMBps)} MB/s, cp ${round(r.cpMBps)} MB/s, ratio ${round(r.ratio)}; ` +
        `CPU ms/MB server ${round(s.total)} (event loop ${round(s.eventLoop)}, hashing ${round(s.hashing)}, io pool ${round(s.ioPool)}, V8 ${round(s.v8)}; ` +
        `waited for a CPU ${round(s.waited)}), client ${round(r.clientCpuMsPerMB)}, cp ${round(r.cpCpuMsPerMB)}`,
    );
  }
  const of = (pick: (r: UploadRound) => number) => round(median(timed.map(pick)));
  return {
    file: label,
    bytes,
    rounds,
    // The median of the rounds' ratios, each from a cp and an upload back to back.
    ratio: round(median(timed.map((r) => r.ratio))),
    ratios: spread(timed.map((r) => r.ratio)),
    httpMBps: spread(timed.map((r) => r.httpMBps)),
    cpMBps: spread(timed.map((r) => r.cpMBps)),
    cpuMsPerMB: {
      http: of((r) => r.server.total + r.clientCpuMsPerMB),
      httpServer: of((r) => r.server.total),
      httpClient: of((r) => r.clientCpuMsPerMB),
      httpEventLoop: of((r) => r.server.eventLoop),
      httpHashing: of((r) => r.server.hashing),
      httpIoPool: of((r) => r.server.ioPool),
      httpV8: of((r) => r.server.v8),
      cp: of((r) => r.cpCpuMsPerMB),
    },
    // How long the server's threads were runnable but had no CPU (other work on the machine).
    serverWaitedForCpuMsPerMB: of((r) => r.server.waited),
  };
}

function pipelineFigures(run: Awaited<ReturnType<typeof runPipeline>>, flippedBytes: number, poolConcurrency: number) {
  const { cli } = run;
  return {
    sources: SOURCES.length,
    target: TARGET,
    flippedBytes,
    packages: run.packages,
    poolConcurrency,
    readyMs: Math.round(run.readyMs),
    cliSequentialMs: Math.round(cli.ms),
    cliSequentialRunsMs: cli.runsMs.map((ms) => Math.round(ms)),
    ratio: round(run.readyMs / cli.ms),
    bsdiffProcessesCpuMs: Math.round(run.cpu.childrenMs),
    serverProcessCpuMs: Math.round(run.cpu.serverProcessMs),
    cliCpuMs: Math.round(cli.cpuMs),
    bsdiffCpuRatio: round(run.cpu.childrenMs / cli.cpuMs),
    peakRssMiB: mib(run.sampler.peakTotal),
    peakChildrenRssMiB: mib(run.sampler.peakChildren),
    peakServerProcessRssMiB: mib(run.sampler.peakSelf),
    peakRssOfBudget: round(run.sampler.peakTotal / DELTA_MEMORY_BUDGET),
    cliPeakRssMiB: cli.peakRssMiB,
    jobs: run.jobs,
  };
}

/** `fota serve` on a fresh data directory, its log at level info on its stdout (the job lines). */
async function startServer(adminToken: string): Promise<ServeProcess> {
  return spawnServe({
    dataDir: join(work, 'data'),
    artifactsDir: join(work, 'artifacts'),
    env: {
      ...serverCode.env,
      FOTA_ADMIN_TOKEN: adminToken,
      FOTA_LOG_LEVEL: 'info',
      FOTA_DELTA_MEMORY_MB: String(DELTA_MEMORY_BUDGET / 1024 / 1024),
      // The pool's default, given here so that the JSON can say it.
      FOTA_DELTA_CONCURRENCY: String(POOL_CONCURRENCY),
    },
    nodeArgs: args['server-node-args'].split(/\s+/).filter(Boolean),
  });
}

async function manufacturerToken(serverUrl: string, adminToken: string): Promise<string> {
  const res = await fetch(`${serverUrl}/api/v1/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ role: 'manufacturer', name: 'bench', manufacturer: 'bench-maker' }),
  });
  if (!res.ok) throw new Error(`POST /api/v1/tokens: HTTP ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

async function main() {
  const target = join(work, `esbuild-${TARGET}.bin`);
  const flippedBytes = writeTargetImage(target);
  const adminToken = randomBytes(24).toString('hex');
  const jobLog = new JobLog();
  const loadAtStart = loadavg()[0] ?? 0;
  if (loadAtStart > availableParallelism() / 2) {
    progress(`warning: the 1-minute load average is ${round(loadAtStart)} on ${availableParallelism()} cores; other work will skew the wall times`);
  }
  const server = await startServer(adminToken);
  const pid = server.child.pid ?? 0;
  const threads = new ServerThreads(pid);
  jobLog.follow(server);
  const client = new UploadClient();
  try {
    const bench: Bench = { server, pid, threads, client, token: await manufacturerToken(server.url, adminToken) };

    const run = args['upload-only'] ? undefined : await runPipeline(bench, target, jobLog);

    const large = join(work, 'random-200MB.bin');
    progress(`writing ${LARGE_BYTES / 1e6} MB of pseudo-random bytes`);
    writePseudoRandom(large, LARGE_BYTES);
    // One upload untimed first, as a server in service has had: the first of a process
    // starts the hashing thread and compiles the upload path (5-10x slower than the next).
    const uploads = [
      await uploadSpeed(bench, image('0.25.0'), 'esbuild-0.25.0.bin', UPLOAD_ROUNDS.small),
      await uploadSpeed(bench, large, 'random-200MB.bin', UPLOAD_ROUNDS.large),
    ];

    console.log(
      JSON.stringify(
        {
          benchmark: 'pipeline',
          cores: availableParallelism(),
          server: serverCode.label,
          uploadClient: 'a process of its own',
          loadAverage1m: { start: round(loadAtStart), end: round(loadavg()[0] ?? 0) },
          deltaMemoryBudgetMiB: mib(DELTA_MEMORY_BUDGET),
          pipeline: run && pipelineFigures(run, flippedBytes, POOL_CONCURRENCY),
          upload: uploads,
          goals: {
            ...(run ? { pipelineRatio: { goal: `<= ${GOALS.pipelineRatioAtMost}`, met: run.readyMs / run.cli.ms <= GOALS.pipelineRatioAtMost } } : {}),
            uploadRatio: { goal: `>= ${GOALS.uploadRatioAtLeast} of cp && sync`, met: uploads.every((u) => u.ratio >= GOALS.uploadRatioAtLeast) },
          },
        },
        null,
        2,
      ),
    );
  } finally {
    client.close();
    server.child.kill('SIGTERM');
    await exited(server.child);
  }
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => rmSync(work, { recursive: true, force: true }));
