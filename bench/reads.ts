// How many times the upload pipeline reads each image, counted by the kernel: this script
// runs itself under `strace -f -y` (every thread and child, so bsdiff's reads count too),
// then sums the bytes each read/pread returned per file, in three phases:
//   upload:   0.25.1 (0.25.0 with a few hundred bytes flipped) arrives over HTTP;
//   deltas:   its full package and deltas from 0.24.0 and 0.25.0 (both worth offering);
//   rejected: a pseudo-random image of the same size as the next version: its full package
//             and three deltas that are all too large to offer.
// Bytes read divided by the image's size is "reads per image". Files are told apart by
// name: images are stored under their SHA-256; the job's delta and package files by name.
// Prints one JSON object on stdout. Run: npm run bench:reads   (needs strace and bsdiff;
// FOTA_READS_KEEP=1 keeps the trace, FOTA_READS_PARSE=DIR parses a kept one again)
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { closeSync, createReadStream, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { type RunningServer, startServer } from '../src/start.ts';
import { createToken } from '../src/tokens/tokens.ts';

const FIXTURES = '.fixtures/firmware';
const MODEL = 'esbuild-linux-x64';
const PHASES = ['upload', 'deltas', 'rejected'] as const;
type Phase = (typeof PHASES)[number];
const MARK = 'fota-reads-mark-';
const fixture = (v: string) => join(FIXTURES, `esbuild-${v}.bin`);

interface Meta {
  artifactsDir: string;
  workDir: string;
  /** Stored images by SHA-256: label and size. */
  images: Record<string, { label: string; size: number }>;
}

// --- the traced run (inside strace) --------------------------------------------------------

async function upload(server: RunningServer, token: string, path: string, version: string): Promise<string> {
  const url = new URL(`/api/v1/builds?model=${MODEL}&version=${version}`, server.url);
  const body = await new Promise<string>((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(statSync(path).size) } });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (piece: string) => (text += piece));
      res.on('end', () => (res.statusCode === 202 ? resolve(text) : reject(new Error(`upload ${version}: HTTP ${res.statusCode}: ${text}`))));
    });
    req.on('error', reject);
    pipeline(createReadStream(path), req).catch(reject);
  });
  return (JSON.parse(body) as { id: string }).id;
}

async function waitReady(server: RunningServer, token: string, id: string): Promise<void> {
  for (;;) {
    const build = (await (await fetch(`${server.url}/api/v1/builds/${id}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { status: string; failureReason: string | null };
    if (build.status === 'failed') throw new Error(`build ${id} failed: ${build.failureReason ?? ''}`);
    if (build.status === 'ready') return;
    await sleep(100);
  }
}

/** Opening a file with this name is the phase boundary the parser looks for in the trace. */
function mark(work: string, phase: Phase | 'pause' | 'end'): void {
  closeSync(openSync(join(work, `${MARK}${phase}`), 'w'));
}

async function traced(work: string, metaPath: string): Promise<void> {
  const target = join(work, 'esbuild-0.25.1.bin');
  const bytes = readFileSync(fixture('0.25.0'));
  for (let at = 16 * 1024; at < bytes.length; at += 32 * 1024) bytes[at] = (bytes[at] ?? 0) ^ 0xff;
  writeFileSync(target, bytes);
  const unrelated = join(work, 'random.bin');
  const cipher = createCipheriv('aes-256-ctr', Buffer.alloc(32, 9), Buffer.alloc(16, 0));
  writeFileSync(unrelated, cipher.update(Buffer.alloc(bytes.length)));

  const server = await startServer(loadConfig({}, { dataDir: join(work, 'data'), artifactsDir: join(work, 'artifacts'), port: 0, adminToken: 'reads-admin-token-0123456789' }), {
    host: '127.0.0.1',
    log: pino({ level: 'warn' }),
  });
  try {
    const { token } = await createToken(server.ctx, 'bench', { role: 'manufacturer', name: 'bench', manufacturer: 'bench-maker' });
    const images: Meta['images'] = {};
    const label = (path: string, name: string) => {
      const data = readFileSync(path);
      images[createHash('sha256').update(data).digest('hex')] = { label: name, size: data.length };
    };
    for (const version of ['0.24.0', '0.25.0']) {
      label(fixture(version), version);
      await waitReady(server, token, await upload(server, token, fixture(version), version));
    }
    label(target, '0.25.1');
    label(unrelated, 'unrelated');
    // The runner is stopped so that the upload phase holds the upload alone.
    await server.runner.stop();
    mark(work, 'upload');
    const id = await upload(server, token, target, '0.25.1');
    mark(work, 'deltas');
    server.runner.start();
    await waitReady(server, token, id);
    await server.runner.stop();
    mark(work, 'pause');
    const other = await upload(server, token, unrelated, '0.26.0');
    mark(work, 'rejected');
    server.runner.start();
    await waitReady(server, token, other);
    mark(work, 'end');
    writeFileSync(metaPath, JSON.stringify({ artifactsDir: join(work, 'artifacts'), workDir: server.ctx.workDir, images } satisfies Meta));
  } finally {
    await server.close();
  }
}

// --- the parser (outside strace) -----------------------------------------------------------

// strace pads the pid to a width, so a short pid is followed by more than one space.
/** A read of any kind; the fd's path is there when strace could decode it (-y). */
const READ = /^(\d+)\s+(?:read|pread64|readv|preadv|preadv2)\(\d+(?:<([^>]*)>)?,(.*)$/;
const RESUMED = /^(\d+)\s+<\.\.\. (?:read|pread64|readv|preadv|preadv2) resumed>(.*)$/;
/** The byte count at the end of a finished call; errors (= -1 EAGAIN ...) count nothing. */
const RETURNED = /\)\s+= (\d+)\s*$/;
const UNATTRIBUTED = 'unattributed: reads whose file strace could not name';

function classify(path: string, meta: Meta): string | undefined {
  if (path.startsWith(meta.workDir)) {
    const name = basename(path);
    if (name.endsWith('.bsdiff')) return 'job: delta file';
    if (name.includes('.fota')) return 'job: .fota file';
    const sha = name.slice(0, 64);
    return meta.images[sha] ? `image ${meta.images[sha].label} (job copy)` : 'job: other';
  }
  if (!path.startsWith(meta.artifactsDir)) return undefined;
  const found = meta.images[basename(path)];
  if (found) return `image ${found.label}`;
  return path.includes('/.staging/') ? 'artifacts: staging' : 'artifacts: other (packages)';
}

function summarise(log: string, meta: Meta) {
  const totals: Record<Phase, Record<string, number>> = { upload: {}, deltas: {}, rejected: {} };
  const pending = new Map<string, string | undefined>();
  const marks = new Set<string>();
  let phase: Phase | undefined;
  for (const line of log.split('\n')) {
    const marked = line.includes(MARK) ? /fota-reads-mark-(\w+)/.exec(line)?.[1] : undefined;
    if (marked) {
      marks.add(marked);
      phase = PHASES.find((p) => p === marked);
    }
    let call: { path: string | undefined; rest: string } | undefined;
    const read = READ.exec(line);
    if (read) {
      if ((read[3] ?? '').endsWith('<unfinished ...>')) pending.set(read[1] ?? '', read[2]);
      else call = { path: read[2], rest: read[3] ?? '' };
    } else {
      const resumed = RESUMED.exec(line);
      if (resumed) call = { path: pending.get(resumed[1] ?? ''), rest: resumed[2] ?? '' };
    }
    const got = Number(call ? (RETURNED.exec(call.rest)?.[1] ?? 0) : 0);
    if (!phase || !call || got === 0) continue;
    const what = call.path === undefined ? UNATTRIBUTED : classify(call.path, meta);
    if (what) totals[phase][what] = (totals[phase][what] ?? 0) + got;
  }
  // A trace without every boundary would print zeros that look like thrift.
  const missing = [...PHASES, 'end'].filter((p) => !marks.has(p));
  if (missing.length > 0) throw new Error(`the trace has no boundary for ${missing.join(', ')}; it is incomplete`);
  const sizes = new Map(Object.values(meta.images).map((i) => [`image ${i.label}`, i.size]));
  return Object.fromEntries(
    PHASES.map((p) => [p, Object.fromEntries(Object.entries(totals[p]).sort().map(([what, bytes]) => [what, { bytes, ...(sizes.has(what) ? { reads: Number((bytes / (sizes.get(what) ?? 1)).toFixed(2)) } : {}) }]))]),
  );
}

async function main(): Promise<void> {
  const inner = process.env.FOTA_READS_WORK;
  const metaPath = (work: string) => join(work, 'meta.json');
  if (inner) return traced(inner, metaPath(inner));
  const kept = process.env.FOTA_READS_PARSE;
  if (kept) return void console.log(JSON.stringify(summarise(readFileSync(join(kept, 'strace.log'), 'utf8'), JSON.parse(readFileSync(metaPath(kept), 'utf8')) as Meta), null, 2));
  if (spawnSync('sh', ['-c', 'command -v strace && command -v bsdiff']).status !== 0) throw new Error('bench:reads needs strace and bsdiff: apt-get install -y strace bsdiff');
  const work = mkdtempSync(join(tmpdir(), 'fota-reads-'));
  let keep = Boolean(process.env.FOTA_READS_KEEP);
  try {
    const log = join(work, 'strace.log');
    const load = loadavg()[0] ?? 0;
    // libuv may read through io_uring, which strace does not see: plain syscalls only.
    const run = spawnSync('strace', ['-f', '-qq', '-y', '-s', '0', '-e', 'trace=openat,read,pread64,readv,preadv,preadv2', '-o', log, process.execPath, '--import', 'tsx', 'bench/reads.ts'], {
      env: { ...process.env, FOTA_READS_WORK: work, UV_USE_IO_URING: '0' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (run.status !== 0) throw new Error(`the traced run failed (exit ${run.status})`);
    const meta = JSON.parse(readFileSync(metaPath(work), 'utf8')) as Meta;
    console.log(JSON.stringify({ benchmark: 'reads', loadAverage1m: Number(load.toFixed(2)), phases: summarise(readFileSync(log, 'utf8'), meta) }, null, 2));
  } catch (err) {
    keep = true; // the trace is what shows what went wrong
    throw err;
  } finally {
    // FOTA_READS_PARSE=<that directory> parses a kept trace again.
    if (keep) console.error(`bench:reads: kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
