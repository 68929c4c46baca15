// Download benchmark: our /dl/<token> against Debian's nginx serving the same .fota file,
// in the same run, on loopback. Prints one JSON object:
//   ours / nginx: bytes per second over all clients, requests, wrong answers (with
//                 examples), requests retried after the keep-alive race, and the peak RSS
//                 of the serving processes (ours: a fresh `fota serve` child process, read
//                 from /proc/<pid>/status every 50 ms; also its RSS at start and after a
//                 warm-up); what our server recorded as bytes served, against what the
//                 clients received;
//   ratio:        ours / nginx throughput per trial, their median, and overall; the CPU
//                 seconds each server spent per GiB served (less disturbed by other work);
//   idle:         our server's CPU with nothing to serve (idleCpuMsPerSecond, over 5 s before
//                 the trials), and its CPU per GiB less that rate over the trials' wall time
//                 (serverCpuSecondsPerGiBBesideIdle: an estimate; the goal judges the whole);
//   goals:        median ratio >= 0.8, our peak RSS < 200 MB, our CPU <= 0.3 s per GiB.
//   nodeFloor:    the same load on the least a Node server can do (node:http, the file in
//                 memory, writes of WRITE_BYTES as ours): Node has no sendfile, so every byte is
//                 copied into the socket, which nginx's sendfile spares it. Its CPU per GiB
//                 is the floor for ours on the machine as it is during the run
//                 (--skip-floor leaves it out).
// Load: CLIENTS concurrent clients (node:http, one keep-alive Agent), each downloading the
// ~10 MB full package of esbuild 0.25.0 ROUNDS times; half of them resume from a random
// offset (`Range: bytes=N-`). Both servers get the very same offsets. Each trial runs
// both servers back to back, in alternating order, so other work on the machine hurts
// both alike. The load generator shares the machine with the server under test: on a
// small machine it is a large part of the cost, for both. Before the trials, --warmup
// downloads (untimed; ours on deployments of their own) let V8 settle in both Node servers.
//   --range-bytes N: every request asks for N bytes only (`Range: bytes=a-b`), so the CPU
//                 is nearly all per-request work; `serverCpuMsPerRequest` then says what a
//                 request costs each server, apart from the bytes it sends.
// Our server runs dist/, as `npm start` does (bench/server-build.ts; --from-source: through tsx).
//   --no-sendfile: our server copies each byte through JavaScript, as it does without the
//                 sendfile addon; `ours.bytesSentBySendfile` says which way the bytes went.
// Run: npm run bench:download [-- --clients 200 --rounds 2 --trials 4 --warmup 200 --cpu-prof DIR --range-bytes N --from-source --no-sendfile]   (needs nginx)
//      (other flags for the serving node process: -- "--server-node-args=--cpu-prof --cpu-prof-dir=/tmp/prof")
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { DOWNLOAD_KEY_PURPOSE, issueDownloadToken } from '../src/deployments/download-grant.ts';
import { KeyVault } from '../src/signing/vault.ts';
import { openSqliteStore } from '../src/store/sqlite.ts';
import { sql } from 'drizzle-orm';
import { rows } from '../src/store/dialect.ts';
import { insertDeployment } from '../src/store/queries/deployments.ts';
import { insertDevice } from '../src/store/queries/devices.ts';
import { FLOOR_LISTEN, startFloor } from './node-floor.ts';
import { serverBuild } from './server-build.ts';
import { CLOCK_TICKS, cpuSecondsOf, processTree, rssKiB } from './proc.ts';
import { metricValue } from '../test/support/metrics.ts';
import { spawnServe } from '../test/support/serve-process.ts';
import { WRITE_BYTES } from '../src/download/source.ts';

const FIXTURES = '.fixtures/firmware';
/** Issue 14: server CPU seconds per GiB served (user + system, all threads). */
const CPU_SECONDS_PER_GIB_GOAL = 0.3;
const IMAGE = join(FIXTURES, 'esbuild-0.25.0.bin');
const MODEL = 'esbuild-linux-x64';

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '2' },
    trials: { type: 'string', default: '4' },
    /** A directory for a V8 CPU profile of the serving process (written when it exits). */
    'cpu-prof': { type: 'string' },
    /** Flags for the serving node process, space-separated (as bench:dm takes them). */
    'server-node-args': { type: 'string', default: '' },
    'skip-floor': { type: 'boolean', default: false },
    /**
     * Downloads before the timed trials, each on a deployment of its own (as bench:dm warms
     * up on devices of its own): V8's optimising compiler is still compiling the request path
     * on its background threads after a few downloads, and a fleet's server has long settled.
     * The timed deployments' first downloads (their move to 'downloading') stay timed.
     */
    warmup: { type: 'string', default: '200' },
    /** Our server runs the sources through tsx instead of dist/ (bench/server-build.ts). */
    'from-source': { type: 'boolean', default: false },
    /** Each request asks for this many bytes only: a measure of per-request cost. */
    'range-bytes': { type: 'string' },
    /** Our server copies the bytes through JavaScript (FOTA_DOWNLOAD_SENDFILE=off), as before sendfile. */
    'no-sendfile': { type: 'boolean', default: false },
  },
});
const CPU_PROF_DIR = args['cpu-prof'];
const SERVER_NODE_ARGS = [...(CPU_PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF_DIR] : []), ...(args['server-node-args'] ?? '').split(/\s+/).filter(Boolean)];
const CLIENTS = Number(args.clients);
const ROUNDS = Number(args.rounds);
const TRIALS = Number(args.trials);
const WARMUP = Number(args.warmup);
const RANGE_BYTES = args['range-bytes'] === undefined ? undefined : Number(args['range-bytes']);
const serverCode = serverBuild(args['from-source'] === true);

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
});
if (!NGINX) {
  console.error('bench:download compares against nginx: apt-get install -y nginx');
  process.exit(2);
}
execFileSync('bash', ['scripts/fetch-firmware.sh', FIXTURES], { stdio: ['ignore', 'ignore', 'inherit'] });

const work = mkdtempSync(join(tmpdir(), 'fota-bench-download-'));
const children: ChildProcess[] = [];
const round = (n: number, digits = 1) => Number(n.toFixed(digits));
const MiB = 1024 * 1024;

// --- process memory ------------------------------------------------------------------------

/** Samples the summed RSS of a process tree every 50 ms; stop() gives the peak in MiB. */
function sampleRss(pid: number) {
  let peak = 0;
  const take = () => {
    peak = Math.max(peak, processTree(pid).reduce((sum, p) => sum + rssKiB(p), 0));
  };
  take();
  const timer = setInterval(take, 50);
  return {
    stop() {
      clearInterval(timer);
      take();
      return round(peak / 1024);
    },
  };
}

/** User and system CPU ticks of the given processes so far: how cpuSecondsOf's sum splits. */
function cpuTicksOf(pids: number[]): { user: number; system: number } {
  const ticks = { user: 0, system: 0 };
  for (const p of pids) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.user += Number(fields[11]);
      ticks.system += Number(fields[12]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks;
}

/**
 * CPU ticks of the main thread (JavaScript, and the socket writes it makes) and of all
 * other threads (V8's GC and compiler helpers, libuv's fs pool, our worker threads), so a
 * change in CPU per GiB can be placed. Node names none of its threads, so the main one is
 * told by its id (the process id).
 */
function mainAndOtherTicks(pid: number): { main: number; others: number } {
  const ticks = { main: 0, others: 0 };
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks[Number(tid) === pid ? 'main' : 'others'] += Number(fields[11]) + Number(fields[12]);
      } catch {
        // the thread ended meanwhile
      }
    }
  } catch {
    // gone meanwhile
  }
  return ticks;
}

/** How long our server is watched idle before the trials (idleCpuMsPerSecond). */
const IDLE_MS = 5000;

/**
 * Nanoseconds all threads of a process have run on a CPU (/proc/<pid>/task/<tid>/schedstat),
 * finer than the clock ticks of /proc/<pid>/stat: an idle server spends a few ms a second.
 */
function onCpuNanoseconds(pid: number): number {
  let ns = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread ended meanwhile
      }
    }
  } catch {
    // gone meanwhile
  }
  return ns;
}

// --- our server ----------------------------------------------------------------------------

async function startOurs(dataDir: string, artifactsDir: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<{ url: string; child: ChildProcess }> {
  const started = await spawnServe({ dataDir, artifactsDir, env: { ...serverCode.env, ...env }, nodeArgs });
  children.push(started.child);
  return started;
}

async function api<T>(url: string, token: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

function upload(url: string, token: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(statSync(path).size) },
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (piece: string) => (body += piece));
      res.on('end', () => (res.statusCode === 202 ? resolve((JSON.parse(body) as { id: string }).id) : reject(new Error(`upload: ${res.statusCode} ${body}`))));
    });
    req.on('error', reject);
    createReadStream(path).pipe(req);
  });
}

interface Build {
  status: 'processing' | 'ready' | 'failed';
  failureReason: string | null;
  packages: Array<{ id: string; kind: string; size: number; sha256: string }>;
}

// --- nginx ---------------------------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

async function startNginx(nginx: string, root: string): Promise<{ url: string; child: ChildProcess }> {
  const dir = join(work, 'nginx');
  mkdirSync(dir);
  const port = await freePort();
  // Workers run as `user`; as root that would be nobody, who cannot enter our 0700 temp dir.
  const user = process.getuid?.() === 0 ? 'user root;' : '';
  const conf = `${user}
daemon off;
master_process on;
worker_processes auto;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  default_type application/octet-stream;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child = spawn(nginx, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i += 1) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${readFileSync(join(dir, 'error.log'), 'utf8')}`);
    const ok = await fetch(`${url}/`, { method: 'HEAD' }).then(
      () => true,
      () => false,
    );
    if (ok) return { url, child };
    if (i > 100) throw new Error('nginx did not start listening');
    await sleep(50);
  }
}

// --- the Node floor ------------------------------------------------------------------------

/** A bare node:http server with the file in memory: Range `bytes=N-` or `bytes=N-M`, a write of WRITE_BYTES at a time, each once the last has completed. */
const FLOOR_SERVER = `
const { createServer } = require('node:http');
const file = require('node:fs').readFileSync(process.argv[1]);
const WRITE_BYTES = ${WRITE_BYTES};
const server = createServer((req, res) => {
  const m = /^bytes=(\\d+)-(\\d*)$/.exec(req.headers.range || '');
  let at = m ? Number(m[1]) : 0;
  const end = m && m[2] ? Math.min(file.length, Number(m[2]) + 1) : file.length;
  res.writeHead(m ? 206 : 200, { 'content-length': String(end - at), ...(m ? { 'content-range': 'bytes ' + at + '-' + (end - 1) + '/' + file.length } : {}) });
  const next = (err) => {
    if (err) return;
    if (at >= end) return res.end();
    const chunk = file.subarray(at, Math.min(end, at + WRITE_BYTES));
    at += chunk.length;
    res.write(chunk, next);
  };
  next();
});
${FLOOR_LISTEN}`;

async function startNodeFloor(file: string): Promise<{ url: string; child: ChildProcess }> {
  // The serving process's node flags go to the floor too: a --cpu-prof of each, to compare.
  const floor = await startFloor(FLOOR_SERVER, [file], SERVER_NODE_ARGS);
  children.push(floor.child);
  return floor;
}

// --- load ----------------------------------------------------------------------------------

interface LoadResult {
  bytes: number;
  ms: number;
  requests: number;
  wrong: number;
  /** The first few wrong answers, to tell a reset connection from a short body. */
  wrongExamples: string[];
  /** Requests sent again because the server had closed their idle keep-alive connection. */
  retried: number;
}

/** A request that failed on a reused keep-alive socket before any response came. */
class StaleSocket extends Error {}

function download(url: string, agent: Agent, offset: number, size: number): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const range = RANGE_BYTES !== undefined ? { range: `bytes=${offset}-${Math.min(size, offset + RANGE_BYTES) - 1}` } : offset > 0 ? { range: `bytes=${offset}-` } : {};
    const req = request(url, { agent, headers: range }, (res) => {
      answered = true;
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    // The keep-alive race: the server closed the connection as idle just as the client
    // reused it. Node's docs advise retrying exactly this case, as any device would.
    req.on('error', (err) => reject(!answered && req.reusedSocket ? new StaleSocket(err.message) : err));
    req.end();
  });
}

/** urls[i] is client i's URL (ours: one token per device); offsets[i][r] its resume point. */
async function load(urls: string[], size: number, offsets: number[][], rounds: number): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: urls.length });
  let bytes = 0;
  let requests = 0;
  let wrong = 0;
  let retried = 0;
  const examples: string[] = [];
  const started = performance.now();
  await Promise.all(
    urls.map(async (url, i) => {
      for (let r = 0; r < rounds; r += 1) {
        const offset = offsets[i]?.[r] ?? 0;
        const got = await download(url, agent, offset, size)
          .catch((err: unknown) => {
            if (!(err instanceof StaleSocket)) throw err;
            retried += 1;
            return download(url, agent, offset, size);
          })
          .catch((err: unknown) => ({ status: 0, bytes: 0, error: `${String(err)} after ${Math.round(performance.now() - started)} ms` }));
        const expected = RANGE_BYTES !== undefined ? Math.min(size, offset + RANGE_BYTES) - offset : size - offset;
        if (got.status !== (offset > 0 || RANGE_BYTES !== undefined ? 206 : 200) || got.bytes !== expected) {
          wrong += 1;
          if (examples.length < 3) examples.push(`offset ${offset}: status ${got.status}, ${got.bytes} bytes${'error' in got ? `, ${got.error}` : ''}`);
        }
        bytes += got.bytes;
        requests += 1;
      }
    }),
  );
  const ms = performance.now() - started;
  agent.destroy();
  return { bytes, ms, requests, wrong, wrongExamples: examples, retried };
}

function summary(results: LoadResult[]) {
  const bytes = results.reduce((s, r) => s + r.bytes, 0);
  const ms = results.reduce((s, r) => s + r.ms, 0);
  return {
    bytesPerSecond: Math.round((bytes / ms) * 1000),
    MiBPerSecond: round((bytes / MiB / ms) * 1000),
    requests: results.reduce((s, r) => s + r.requests, 0),
    wrongAnswers: results.reduce((s, r) => s + r.wrong, 0),
    ...(results.some((r) => r.wrong > 0) ? { wrongExamples: results.flatMap((r) => r.wrongExamples).slice(0, 5) } : {}),
    retriedOnClosedKeepAlive: results.reduce((s, r) => s + r.retried, 0),
    trialsMiBPerSecond: results.map((r) => round((r.bytes / MiB / r.ms) * 1000)),
  };
}

// --- main ----------------------------------------------------------------------------------

async function main(nginx: string) {
  const adminToken = randomBytes(24).toString('hex');
  const masterKey = randomBytes(32);
  const dataDir = join(work, 'data');
  const ours = await startOurs(dataDir, join(work, 'artifacts'), { FOTA_ADMIN_TOKEN: adminToken, FOTA_MASTER_KEY: masterKey.toString('hex') });

  const { token: mfr } = await api<{ token: string }>(`${ours.url}/api/v1/tokens`, adminToken, {
    method: 'POST',
    body: { role: 'manufacturer', name: 'bench', manufacturer: 'bench' },
  });
  const buildId = await upload(`${ours.url}/api/v1/builds?model=${MODEL}&version=0.25.0`, mfr, IMAGE);
  let build: Build;
  for (;;) {
    build = await api<Build>(`${ours.url}/api/v1/builds/${buildId}`, adminToken);
    if (build.status !== 'processing') break;
    await sleep(100);
  }
  const pkg = build.packages.find((p) => p.kind === 'full');
  if (build.status !== 'ready' || !pkg) throw new Error(`build ${buildId} is ${build.status}: ${build.failureReason}`);

  // The same .fota file for nginx, fetched through our API and checked.
  const www = join(work, 'www');
  mkdirSync(www);
  const file = join(www, 'package.fota');
  const res = await fetch(`${ours.url}/api/v1/packages/${pkg.id}/file`, { headers: { authorization: `Bearer ${adminToken}` } });
  if (!res.ok || !res.body) throw new Error(`package file: ${res.status}`);
  await pipeline(res.body as unknown as AsyncIterable<Uint8Array>, createWriteStream(file));
  const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
  if (sha256 !== pkg.sha256 || statSync(file).size !== pkg.size) throw new Error('the package file does not match its record');

  // A fresh server process for the load, so its RSS is that of serving, not of having
  // just hashed and signed a 10 MB build.
  const oursEnv = { FOTA_ADMIN_TOKEN: adminToken, FOTA_MASTER_KEY: masterKey.toString('hex'), FOTA_DOWNLOAD_SENDFILE: args['no-sendfile'] ? 'off' : 'on' };
  ours.child.kill('SIGTERM');
  await new Promise((resolve) => ours.child.once('exit', resolve));
  const serving = await startOurs(dataDir, join(work, 'artifacts'), oursEnv, SERVER_NODE_ARGS);
  const oursPid = serving.child.pid ?? 0;
  const startRssMiB = round(rssKiB(oursPid) / 1024);

  // One device and one deployment per client, as a fleet would have; tokens for each.
  const db = openSqliteStore(dataDir);
  const key = KeyVault.fromKey(new Uint8Array(masterKey)).deriveKey(DOWNLOAD_KEY_PURPOSE);
  const now = Date.now();
  const urlsOf = async (prefix: string, count: number) => {
    const urls: string[] = [];
    await db.transaction(async (tx) => {
      for (let i = 0; i < count; i += 1) {
        const deviceId = `dev_${prefix}${i}`;
        const deploymentId = `dep_${prefix}${i}`;
        await insertDevice(tx, { id: deviceId, model: MODEL, createdAt: now });
        await insertDeployment(tx, { id: deploymentId, deviceId, buildId, packageId: pkg.id, state: 'commanded', createdAt: now, updatedAt: now });
        urls.push(`${serving.url}/dl/${issueDownloadToken(key, { packageId: pkg.id, deploymentId, deviceId, expiresAt: now + 3_600_000 })}`);
      }
    });
    return urls;
  };
  const ourUrls = await urlsOf('bench', CLIENTS);
  const warmUrls = await urlsOf('warm', WARMUP);

  const server = await startNginx(nginx, www);
  const nginxUrls = ourUrls.map(() => `${server.url}/package.fota`);
  const offsets = Array.from({ length: CLIENTS }, (_, i) => Array.from({ length: ROUNDS }, () => (i % 2 === 1 ? 1 + Math.floor(Math.random() * (pkg.size - 1)) : 0)));

  const floor = args['skip-floor'] ? undefined : await startNodeFloor(file);
  const floorUrls = ourUrls.map(() => `${floor?.url}/package.fota`);

  // Warm them up (page cache, JIT, connections), then alternate measured trials: ours on
  // deployments of its own, the other two with as many downloads.
  const warm = await load(warmUrls, pkg.size, offsets, 1);
  await load(nginxUrls.slice(0, WARMUP), pkg.size, offsets, 1);
  if (floor) await load(floorUrls.slice(0, WARMUP), pkg.size, offsets, 1);
  await sleep(500);
  const idleRssMiB = round(rssKiB(oursPid) / 1024);
  // What our server spends with nothing to serve (its polls and timers, and the GC they
  // cause): the trials charge it by their wall time like any other CPU second of the
  // process, so it is measured here too, to tell it from the work of serving.
  const idleStart = onCpuNanoseconds(oursPid);
  await sleep(IDLE_MS);
  const idleCpuMsPerSecond = (onCpuNanoseconds(oursPid) - idleStart) / 1e6 / (IDLE_MS / 1000);
  const oursRuns: LoadResult[] = [];
  const nginxRuns: LoadResult[] = [];
  let oursPeak = 0;
  let nginxPeak = 0;
  let oursCpu = 0;
  let nginxCpu = 0;
  const oursTicks = { user: 0, system: 0 };
  const oursThreadTicks = { main: 0, others: 0 };
  /** Per trial: the first carries the first download of most deployments (their move to 'downloading'). */
  const oursTrialCpu: number[] = [];
  const runOurs = async () => {
    const rss = sampleRss(oursPid);
    const cpu = cpuSecondsOf(processTree(oursPid));
    const ticks = cpuTicksOf(processTree(oursPid));
    const threads = mainAndOtherTicks(oursPid);
    oursRuns.push(await load(ourUrls, pkg.size, offsets, ROUNDS));
    const threadsAfter = mainAndOtherTicks(oursPid);
    oursThreadTicks.main += threadsAfter.main - threads.main;
    oursThreadTicks.others += threadsAfter.others - threads.others;
    const spent = cpuSecondsOf(processTree(oursPid)) - cpu;
    oursCpu += spent;
    oursTrialCpu.push(spent);
    const after = cpuTicksOf(processTree(oursPid));
    oursTicks.user += after.user - ticks.user;
    oursTicks.system += after.system - ticks.system;
    oursPeak = Math.max(oursPeak, rss.stop());
  };
  const nginxPid = server.child.pid ?? 0;
  const runNginx = async () => {
    const rss = sampleRss(nginxPid);
    const cpu = cpuSecondsOf(processTree(nginxPid));
    nginxRuns.push(await load(nginxUrls, pkg.size, offsets, ROUNDS));
    nginxCpu += cpuSecondsOf(processTree(nginxPid)) - cpu;
    nginxPeak = Math.max(nginxPeak, rss.stop());
  };
  const floorRuns: LoadResult[] = [];
  let floorCpu = 0;
  const floorTrialCpu: number[] = [];
  const floorTicks = { user: 0, system: 0 };
  const runFloor = async () => {
    if (!floor) return;
    const pids = processTree(floor.child.pid ?? 0);
    const cpu = cpuSecondsOf(pids);
    const ticks = cpuTicksOf(pids);
    floorRuns.push(await load(floorUrls, pkg.size, offsets, ROUNDS));
    const spent = cpuSecondsOf(pids) - cpu;
    floorCpu += spent;
    floorTrialCpu.push(spent);
    const after = cpuTicksOf(pids);
    floorTicks.user += after.user - ticks.user;
    floorTicks.system += after.system - ticks.system;
  };
  for (let t = 0; t < TRIALS; t += 1) {
    // Who goes first alternates, so a load that rises or falls over the run favours neither.
    // The floor runs between the two: beside ours in every trial, as nginx is.
    if (t % 2 === 0) {
      await runOurs();
      await runFloor();
      await runNginx();
    } else {
      await runNginx();
      await runFloor();
      await runOurs();
    }
  }
  // Each trial's two runs are minutes apart at most: their ratio is the least disturbed
  // by other work on the machine, and the median of those the figure to compare.
  const pairRatios = oursRuns.map((o, t) => {
    const n = nginxRuns[t];
    return n ? round(o.bytes / o.ms / (n.bytes / n.ms), 2) : Number.NaN;
  });
  const medianPairRatio = [...pairRatios].sort((a, b) => a - b)[Math.floor((pairRatios.length - 1) / 2)] ?? Number.NaN;

  // How our server sent the bytes: by sendfile, or copied (no addon, or --no-sendfile).
  const metrics = await (await fetch(`${serving.url}/metrics`)).text();
  const sendfileShare = round(metricValue(metrics, 'fota_download_sendfile_bytes_total') / metricValue(metrics, 'fota_download_bytes_total'), 3);

  // What the server recorded: every byte it sent, warm-up included.
  await sleep(200);
  const [recorded = { bytes: 0, downloading: 0 }] = await rows<{ bytes: number; downloading: number }>(
    db,
    sql`select sum(bytes_served) as bytes, sum(CASE WHEN state = 'downloading' THEN 1 ELSE 0 END) as downloading from deployments`,
  );
  await db.close();
  const sent = oursRuns.reduce((s, r) => s + r.bytes, 0);

  const gib = (runs: LoadResult[]) => runs.reduce((sum, r) => sum + r.bytes, 0) / (1024 * MiB);
  /** CPU per request, bytes and all: with --range-bytes small, what a request itself costs. */
  const msPerRequest = (cpu: number, runs: LoadResult[]) => round((cpu * 1000) / Math.max(1, runs.reduce((sum, r) => sum + r.requests, 0)), 3);
  // Less disturbed by other work than wall time: what serving a GiB costs the server.
  const splitPerGiB = (cpu: number, ticks: { user: number; system: number }, runs: LoadResult[]) => {
    const systemShare = ticks.system / Math.max(1, ticks.user + ticks.system);
    return { user: round((cpu * (1 - systemShare)) / gib(runs), 2), system: round((cpu * systemShare) / gib(runs), 2) };
  };
  const o = {
    ...summary(oursRuns),
    serverCpuSecondsPerGiB: round(oursCpu / gib(oursRuns), 2),
    serverCpuMsPerRequest: msPerRequest(oursCpu, oursRuns),
    // The first trial is most deployments' first download (checking a new link, the move
    // to 'downloading' with its history and audit entries); later ones are devices resuming.
    trialsCpuSecondsPerGiB: oursTrialCpu.map((cpu, t) => round(cpu / gib(oursRuns.slice(t, t + 1)), 2)),
    // The kernel's part (socket writes, loopback) against Node's own (JS, libuv, GC).
    serverCpuSplitPerGiB: splitPerGiB(oursCpu, oursTicks, oursRuns),
    // User + system: the main thread's JavaScript and socket writes against the helpers' work
    // (threads that ended during a run are not counted here).
    serverCpuByThreadPerGiB: { main: round(oursThreadTicks.main / CLOCK_TICKS / gib(oursRuns), 3), others: round(oursThreadTicks.others / CLOCK_TICKS / gib(oursRuns), 3) },
    // Our server idle, before the trials (ms of CPU per second of wall time), and the CPU
    // per GiB less that rate over the trials' wall time: an estimate of serving alone (the
    // background work need not cost the same under load). The goal judges the whole figure.
    idleCpuMsPerSecond: round(idleCpuMsPerSecond, 2),
    serverCpuSecondsPerGiBBesideIdle: round((oursCpu - (idleCpuMsPerSecond / 1000) * (oursRuns.reduce((s, r) => s + r.ms, 0) / 1000)) / gib(oursRuns), 2),
  };
  const n = { ...summary(nginxRuns), serverCpuSecondsPerGiB: round(nginxCpu / gib(nginxRuns), 2), serverCpuMsPerRequest: msPerRequest(nginxCpu, nginxRuns) };
  const overallRatio = round(o.bytesPerSecond / n.bytesPerSecond, 2);
  const nginxVersion = spawnSync(nginx, ['-v'], { encoding: 'utf8' }).stderr.trim();
  return {
    file: { bytes: pkg.size, sha256: pkg.sha256 },
    load: { clients: CLIENTS, rounds: ROUNDS, trials: TRIALS, resumingClients: Math.floor(CLIENTS / 2), ...(RANGE_BYTES === undefined ? {} : { rangeBytes: RANGE_BYTES }) },
    machine: { cpus: availableParallelism(), loadavg: loadavg().map((l) => round(l, 2)), node: process.version, nginx: nginxVersion },
    ours: { server: serverCode.label, bytesSentBySendfile: sendfileShare, ...o, rss: { atStartMiB: startRssMiB, afterWarmUpMiB: idleRssMiB, peakMiB: oursPeak }, bytesRecorded: { total: recorded.bytes, matchesBytesReceived: recorded.bytes === warm.bytes + sent, deploymentsDownloading: recorded.downloading } },
    nginx: { ...n, rss: { peakMiB: nginxPeak, note: 'master and workers summed' } },
    ...(floor ? { nodeFloor: { MiBPerSecond: summary(floorRuns).MiBPerSecond, wrongAnswers: summary(floorRuns).wrongAnswers, serverCpuSecondsPerGiB: round(floorCpu / gib(floorRuns), 2), trialsCpuSecondsPerGiB: floorTrialCpu.map((cpu, t) => round(cpu / gib(floorRuns.slice(t, t + 1)), 2)), serverCpuSplitPerGiB: splitPerGiB(floorCpu, floorTicks, floorRuns), serverCpuMsPerRequest: msPerRequest(floorCpu, floorRuns) } } : {}),
    ratio: { medianOfTrials: medianPairRatio, trials: pairRatios, overall: overallRatio },
    goals: {
      throughputAtLeast0_8xNginx: medianPairRatio >= 0.8,
      rssUnder200MB: oursPeak * MiB < 200e6,
      cpuSecondsPerGiB: { goal: `<= ${CPU_SECONDS_PER_GIB_GOAL}`, ours: o.serverCpuSecondsPerGiB, nginx: n.serverCpuSecondsPerGiB, ...(floor ? { nodeFloor: round(floorCpu / gib(floorRuns), 2) } : {}), met: o.serverCpuSecondsPerGiB <= CPU_SECONDS_PER_GIB_GOAL },
    },
  };
}

try {
  console.log(JSON.stringify(await main(NGINX), null, 2));
} finally {
  for (const child of children) child.kill('SIGTERM');
  await sleep(300);
  rmSync(work, { recursive: true, force: true });
}
