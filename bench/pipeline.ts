// Pipeline benchmark: a real server in-process (loopback HTTP, SQLite, local artifact store,
// the DeltaPool) against plain tools on the same machine, in the same run. Prints one JSON
// object on stdout (progress goes to stderr):
//   pipeline: a build of esbuild "0.25.1" (0.25.0 with a few hundred bytes flipped) after
//             0.24.0, 0.24.1 and 0.25.0 are ready, so it gets 3 deltas plus a full package;
//             time from its upload's 202 to `ready`, against Debian's bsdiff doing the same
//             three diffs one after another, run just before and just after the build so that
//             load drifting on the machine hits both alike (the mean of the two counts; goal:
//             ratio <= 0.6 on 2 cores); when each of its
//             package jobs started and how long it took (from the server's own log); peak RSS
//             of this process and its children (the bsdiff processes), sampled every 100 ms,
//             against the delta memory budget the server was given.
//   upload:   HTTP upload (node:http, streamed from disk, with Content-Length, from a client
//             process of its own as a real uploader is: upload-client.ts) of the 10 MB
//             0.25.0 image and of a 200 MB pseudo-random file, against `cp && sync` of the
//             same file on the same disk (the server fsyncs), in MB/s (10^6 bytes; median of
//             a few runs, after one untimed upload to warm the server up, as cp's binary
//             and the files are warm in the page cache); goal: ratio >= 0.5. Beside them, CPU ms per MB of each (median):
//             the server's and the client's together (all threads of each), each alone, and
//             cp's own, so runs at different loads compare; and of the upload, the server's
//             main thread's alone (the event loop every other request waits for).
// The machine's load average is printed too: other work on it skews every wall time here,
// so CPU times are given beside them (children's from /proc/self/stat cutime + cstime, which
// counts every child this process has reaped: the pool's bsdiff processes and the CLI runs).
//   goals:    issue 14's: pipeline ratio <= 0.6, every upload ratio >= 0.5; each with `met`.
// Run: npm run bench:pipeline [-- --upload-only]   (needs Debian's bsdiff: apt-get install -y bsdiff)
//   --upload-only skips the pipeline part (for profiling uploads: node --cpu-prof --import tsx bench/pipeline.ts --upload-only)
//   --client-in-process sends the uploads from this process, the server's, as before the
//             client had a process of its own (to compare the two)
import { execFileSync, spawnSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { request } from 'node:http';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { type RunningServer, startServer } from '../src/start.ts';
import { createToken } from '../src/tokens/tokens.ts';
import { processTree, rssKiB } from './proc.ts';
import { UploadClient } from './upload-client.ts';

const { values: args } = parseArgs({ options: { 'upload-only': { type: 'boolean', default: false }, 'client-in-process': { type: 'boolean', default: false } } });
const GOALS = { pipelineRatioAtMost: 0.6, uploadRatioAtLeast: 0.5 };
const FIXTURES = '.fixtures/firmware';
const SOURCES = ['0.24.0', '0.24.1', '0.25.0'] as const;
const TARGET = '0.25.1';
const MODEL = 'esbuild-linux-x64';
const DELTA_MEMORY_BUDGET = 1.5 * 1024 * 1024 * 1024;
/** One flipped byte every 32 KiB of the 10 MB image: about 310 changed bytes. */
const FLIP_EVERY = 32 * 1024;
const LARGE_BYTES = 200 * 1000 * 1000;
const UPLOAD_RUNS = 3;
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
const work = mkdtempSync(join(tmpdir(), 'fota-bench-pipeline-'));

// --- process-tree memory -------------------------------------------------------------------

/** The upload client's process: not part of the server's memory. */
let clientPid: number | undefined;

/** RSS of this process plus all of its descendants (but the upload client), from /proc. */
function treeRss(root = process.pid): { total: number; children: number } {
  const [self = 0, ...rest] = processTree(root)
    .filter((pid) => pid !== clientPid)
    .map((pid) => rssKiB(pid) * 1024);
  const children = rest.reduce((sum, bytes) => sum + bytes, 0);
  return { total: self + children, children };
}

class RssSampler {
  peakTotal = 0;
  peakChildren = 0;
  peakSelf = 0;
  private timer: NodeJS.Timeout | undefined;

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }

  private sample(): void {
    const { total, children } = treeRss();
    this.peakTotal = Math.max(this.peakTotal, total);
    this.peakChildren = Math.max(this.peakChildren, children);
    this.peakSelf = Math.max(this.peakSelf, process.memoryUsage().rss);
  }
}

/** CPU time of this process's reaped children (and theirs), in ms. */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
function childrenCpuMs(): number {
  // Fields after the ")" that ends the command name: state is field 3, cutime 16, cstime 17.
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS;
}

/** CPU of this process's main thread alone (its event loop): /proc/self/task/<pid>/stat utime + stime. */
function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
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

/** Keeps the runner's job lines (pino JSON, one per write) so the bench can show the schedule. */
class JobLog {
  readonly lines: JobLogLine[] = [];

  write(line: string): void {
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
  /** The client's CPU for it, when it ran in a process of its own (else it is in this process's). */
  clientCpuMs: number;
}

/** The client process, unless --client-in-process. */
let client: UploadClient | undefined;

/** Streams a file to POST /api/v1/builds with node:http (no fetch overhead), Content-Length set. */
async function upload(server: RunningServer, token: string, path: string, version: string, model = MODEL): Promise<Uploaded> {
  const url = new URL(`/api/v1/builds?model=${encodeURIComponent(model)}&version=${encodeURIComponent(version)}`, server.url);
  const sent = client
    ? await client.upload({ url: url.href, path, headers: { authorization: `Bearer ${token}` } })
    : await uploadHere(url, token, path);
  const answeredAt = Date.now();
  const { status, body, ms } = sent;
  if (status !== 202) throw new Error(`upload of ${path} as ${model} ${version}: HTTP ${status}: ${body}`);
  const parsed = JSON.parse(body) as { id?: unknown };
  if (typeof parsed.id !== 'string') throw new Error(`upload answered 202 without a build id: ${body}`);
  return { id: parsed.id, answeredAt, ms, clientCpuMs: client ? sent.cpuMs : 0 };
}

/** The same upload from this process (--client-in-process). */
async function uploadHere(url: URL, token: string, path: string): Promise<{ status: number; body: string; ms: number; cpuMs: number }> {
  const size = statSync(path).size;
  const started = performance.now();
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(size) },
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (piece: string) => (body += piece));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    pipeline(createReadStream(path, { highWaterMark: 1024 * 1024 }), req).catch(reject);
  });
  const { status, body } = await answer;
  return { status, body, ms: performance.now() - started, cpuMs: 0 };
}

interface BuildStatus {
  status: 'processing' | 'ready' | 'failed';
  failureReason: string | null;
  readyAt: string | null;
  packages: Array<{ kind: string; fromVersion: string | null }>;
}

async function waitReady(server: RunningServer, token: string, id: string): Promise<BuildStatus> {
  for (;;) {
    const res = await fetch(`${server.url}/api/v1/builds/${id}`, { headers: { authorization: `Bearer ${token}` } });
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

async function runPipeline(server: RunningServer, token: string, target: string, jobLog: JobLog) {
  const sampler = new RssSampler();
  const versions = new Map<string, string>();
  sampler.start();
  try {
    for (const version of SOURCES) {
      progress(`uploading ${version} and waiting until it is ready`);
      const { id } = await upload(server, token, image(version), version);
      await waitReady(server, token, id);
      versions.set(id, version);
    }
    progress('running Debian bsdiff on the three pairs, one after another');
    // Blocks the event loop, so the RSS sampler sees none of it (GNU time gives its peak).
    const cliBefore = cliSequential(target);
    progress(`uploading ${TARGET}: ${SOURCES.length} deltas and a full package`);
    const cpuBefore = { children: childrenCpuMs(), own: ownCpuMs() };
    const last = await upload(server, token, target, TARGET);
    const build = await waitReady(server, token, last.id);
    // The upload and the polling are in `own` too; both are small next to the jobs.
    const cpu = { childrenMs: childrenCpuMs() - cpuBefore.children, serverProcessMs: ownCpuMs() - cpuBefore.own };
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

async function uploadSpeed(server: RunningServer, token: string, file: string, label: string) {
  const bytes = statSync(file).size;
  const http: number[] = [];
  const cp: number[] = [];
  // CPU per MB beside the wall-clock speeds: on a machine other work keeps busy, the wall
  // times of both sides swing with the load; CPU time much less so.
  const httpCpu: number[] = [];
  const serverCpu: number[] = [];
  const clientCpu: number[] = [];
  const httpLoopCpu: number[] = [];
  const cpCpu: number[] = [];
  for (let run = 0; run < UPLOAD_RUNS; run += 1) {
    // Flush what earlier steps left dirty, so each `sync` and fsync pays only for its own file.
    sh('sync');
    const copy = join(work, 'cp-copy');
    const cpuBeforeCp = childrenCpuMs();
    const started = performance.now();
    sh(`cp ${quote(file)} ${quote(copy)} && sync`);
    cp.push(bytes / 1e6 / ((performance.now() - started) / 1000));
    cpCpu.push((childrenCpuMs() - cpuBeforeCp) / (bytes / 1e6));
    rmSync(copy, { force: true });

    sh('sync');
    // A model of its own per run: an earlier version would queue a delta job (and, for the
    // 200 MB file, one bigger than the delta memory budget).
    // This process's CPU counts the server's every thread (and, --client-in-process, the client's).
    const cpuBefore = ownCpuMs();
    const loopCpuBefore = mainThreadCpuMs();
    const sent = await upload(server, token, file, '1.0.0', `bench-upload-${label}-${run + 1}`);
    const serverMs = ownCpuMs() - cpuBefore;
    http.push(bytes / 1e6 / (sent.ms / 1000));
    httpCpu.push((serverMs + sent.clientCpuMs) / (bytes / 1e6));
    serverCpu.push(serverMs / (bytes / 1e6));
    clientCpu.push(sent.clientCpuMs / (bytes / 1e6));
    httpLoopCpu.push((mainThreadCpuMs() - loopCpuBefore) / (bytes / 1e6));
    // Its full-package job copies and fsyncs the image too: let it finish before the next run.
    await waitReady(server, token, sent.id);
    progress(`upload ${label} run ${run + 1}: http ${round(http[run] ?? 0)} MB/s (${round(httpCpu[run] ?? 0)} CPU ms/MB, ${round(httpLoopCpu[run] ?? 0)} on the event loop), cp ${round(cp[run] ?? 0)} MB/s (${round(cpCpu[run] ?? 0)} CPU ms/MB)`);
  }
  const httpMBps = median(http);
  const cpMBps = median(cp);
  return {
    file: label,
    bytes,
    runs: UPLOAD_RUNS,
    httpMBps: round(httpMBps),
    cpMBps: round(cpMBps),
    ratio: round(httpMBps / cpMBps),
    cpuMsPerMB: {
      http: round(median(httpCpu)),
      httpServer: round(median(serverCpu)),
      httpClient: client ? round(median(clientCpu)) : 'in the server process',
      httpEventLoop: round(median(httpLoopCpu)),
      cp: round(median(cpCpu)),
    },
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

async function main() {
  const target = join(work, `esbuild-${TARGET}.bin`);
  const flippedBytes = writeTargetImage(target);
  const adminToken = `bench-admin-${'x'.repeat(16)}`;
  const jobLog = new JobLog();
  const loadAtStart = loadavg()[0] ?? 0;
  if (loadAtStart > availableParallelism() / 2) {
    progress(`warning: the 1-minute load average is ${round(loadAtStart)} on ${availableParallelism()} cores; other work will skew the wall times`);
  }
  const server = await startServer(
    loadConfig({}, {
      dataDir: join(work, 'data'),
      artifactsDir: join(work, 'artifacts'),
      port: 0,
      adminToken,
      deltaMemoryBytes: DELTA_MEMORY_BUDGET,
    }),
    { host: '127.0.0.1', log: pino({ level: 'info' }, jobLog) },
  );
  if (!args['client-in-process']) {
    client = new UploadClient();
    clientPid = client.pid;
  }
  try {
    const { token } = await createToken(server.ctx, 'bench', { role: 'manufacturer', name: 'bench', manufacturer: 'bench-maker' });

    const run = args['upload-only'] ? undefined : await runPipeline(server, token, target, jobLog);

    const large = join(work, 'random-200MB.bin');
    progress(`writing ${LARGE_BYTES / 1e6} MB of pseudo-random bytes`);
    writePseudoRandom(large, LARGE_BYTES);
    // One upload untimed first, as a server in service has had: the first of a process
    // starts the hashing thread and compiles the upload path (5-10x slower than the next).
    progress('one upload to warm the server up (not timed)');
    await waitReady(server, token, (await upload(server, token, image('0.25.0'), '1.0.0', 'bench-upload-warm-up')).id);
    const uploads = [await uploadSpeed(server, token, image('0.25.0'), 'esbuild-0.25.0.bin'), await uploadSpeed(server, token, large, 'random-200MB.bin')];

    console.log(
      JSON.stringify(
        {
          benchmark: 'pipeline',
          cores: availableParallelism(),
          uploadClient: client ? 'a process of its own' : 'in the server process',
          loadAverage1m: { start: round(loadAtStart), end: round(loadavg()[0] ?? 0) },
          deltaMemoryBudgetMiB: mib(DELTA_MEMORY_BUDGET),
          pipeline: run && pipelineFigures(run, flippedBytes, server.ctx.pool.concurrency),
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
    client?.close();
    await server.close();
  }
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => rmSync(work, { recursive: true, force: true }));
