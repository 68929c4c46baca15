// Runs bsdiff diff/patch jobs off the event loop, at most `concurrency` at a time and
// within a memory budget. bsdiff holds the old image plus two 8-byte-per-byte suffix
// arrays (about 17x the old image) and three buffers of the new size: a job that does not
// fit the memory left waits in line rather than pushing the machine into the OOM killer.
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../errors.ts';
import { tempPathFor } from '../files.ts';
import { hashFile } from '../hashing.ts';

const PROCESS_SCRIPT = fileURLToPath(new URL('./bsdiff-process.cjs', import.meta.url));
/**
 * bsdiff's suffix sort and search jump around arrays of 17x the image: with transparent
 * huge pages (glibc >= 2.35 asks for them on this tunable) there are far fewer TLB misses,
 * measured as 10-15% less wall time per diff by bench/delta.ts. Harmless where unsupported.
 */
const HUGE_PAGES_TUNABLE = 'glibc.malloc.hugetlb=1';

function childEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const tunables = env.GLIBC_TUNABLES;
  if (tunables?.includes('glibc.malloc.hugetlb')) return env;
  return { ...env, GLIBC_TUNABLES: tunables ? `${tunables}:${HUGE_PAGES_TUNABLE}` : HUGE_PAGES_TUNABLE };
}

/** A child Node.js process costs this much before bsdiff allocates anything. */
const PROCESS_OVERHEAD = 64 * 1024 * 1024;

export function diffMemoryEstimate(oldSize: number, newSize: number): number {
  return 17 * (oldSize + 1) + 3 * (newSize + 1) + PROCESS_OVERHEAD;
}

export function patchMemoryEstimate(oldSize: number, newSize: number): number {
  return oldSize + newSize + PROCESS_OVERHEAD;
}

export interface DeltaPoolOptions {
  /** Jobs run at once; default: the number of cores. */
  concurrency?: number;
  /** Bytes all running jobs may take together; default: half of the machine's memory. */
  memoryBudgetBytes?: number;
  /**
   * A directory of finished diffs named by what they are made of (see `deltaCacheKey`):
   * a pair diffed before is copied from there instead of diffed again. Off unless given
   * (FOTA_DELTA_CACHE): a server diffs each pair of its builds once anyway; it is for
   * whoever packages the same images over and over, like the test suite and the demo.
   */
  cacheDir?: string;
}

export interface DeltaJobResult {
  elapsedMs: number;
  /** Peak resident memory of the process that ran the job. */
  maxRssBytes: number;
}

interface Job {
  op: 'diff' | 'patch';
  oldPath: string;
  newPath: string;
  patchPath: string;
  memory: number;
  signal?: AbortSignal;
  resolve: (result: DeltaJobResult) => void;
  reject: (err: unknown) => void;
}

/** The bsdiff implementation: a new version may write other (equally valid) bytes for the same pair. */
const BSDIFF_VERSION = `bsdiff-node@${(createRequire(import.meta.url)('bsdiff-node/package.json') as { version: string }).version}`;

/** Names a delta by both images' contents and the diff's implementation, never by paths or times. */
export async function deltaCacheKey(oldPath: string, newPath: string): Promise<string> {
  const [oldDigest, newDigest] = await Promise.all([hashFile(oldPath), hashFile(newPath)]);
  return createHash('sha256').update(`${BSDIFF_VERSION}\n${oldDigest.sha256}\n${newDigest.sha256}\n`).digest('hex');
}

export class DeltaPool {
  readonly concurrency: number;
  readonly memoryBudgetBytes: number;
  readonly cacheDir: string | undefined;
  private running = 0;
  private memoryInUse = 0;
  private readonly queue: Job[] = [];

  constructor(options: DeltaPoolOptions = {}) {
    this.concurrency = Math.max(1, options.concurrency ?? availableParallelism());
    this.memoryBudgetBytes = options.memoryBudgetBytes ?? Math.floor(totalmem() / 2);
    this.cacheDir = options.cacheDir;
  }

  stats() {
    return { running: this.running, queued: this.queue.length, memoryInUse: this.memoryInUse };
  }

  /** Writes a BSDIFF40 patch turning `oldPath` into `newPath`. */
  async diff(oldPath: string, newPath: string, patchPath: string, options: { signal?: AbortSignal } = {}): Promise<DeltaJobResult> {
    const [oldInfo, newInfo] = await Promise.all([stat(oldPath), stat(newPath)]);
    const run = () => this.submit('diff', { oldPath, newPath, patchPath, memory: diffMemoryEstimate(oldInfo.size, newInfo.size), ...options });
    if (this.cacheDir === undefined) return run();
    const started = performance.now();
    const cached = join(this.cacheDir, `${await deltaCacheKey(oldPath, newPath)}.bsdiff40`);
    options.signal?.throwIfAborted();
    if (await exists(cached)) {
      await copyFile(cached, patchPath);
      return { elapsedMs: performance.now() - started, maxRssBytes: 0 };
    }
    const result = await run();
    // Under a temporary name first: another process diffing the same pair at the same
    // time, or a crash mid-copy, never leaves a partial patch under the cached name.
    await mkdir(this.cacheDir, { recursive: true });
    const tmp = tempPathFor(cached);
    try {
      await copyFile(patchPath, tmp);
      await rename(tmp, cached);
    } finally {
      await rm(tmp, { force: true });
    }
    return result;
  }

  /** Applies a BSDIFF40 patch to `oldPath`, writing `newPath` of (about) `newSize` bytes. */
  async patch(oldPath: string, patchPath: string, newPath: string, newSize: number, options: { signal?: AbortSignal } = {}) {
    const oldInfo = await stat(oldPath);
    return this.submit('patch', { oldPath, newPath, patchPath, memory: patchMemoryEstimate(oldInfo.size, newSize), ...options });
  }

  private submit(op: Job['op'], job: Omit<Job, 'op' | 'resolve' | 'reject'>): Promise<DeltaJobResult> {
    if (job.memory > this.memoryBudgetBytes) {
      return Promise.reject(
        new AppError(
          'INSUFFICIENT_MEMORY',
          `${op} of ${job.oldPath} needs about ${mib(job.memory)} MiB, more than the whole delta memory budget of ${mib(this.memoryBudgetBytes)} MiB; raise the budget or use a full package`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const queued: Job = { op, ...job, resolve, reject };
      job.signal?.addEventListener(
        'abort',
        () => {
          const at = this.queue.indexOf(queued);
          if (at >= 0) {
            this.queue.splice(at, 1);
            reject(abortError(job.signal));
          }
        },
        { once: true },
      );
      this.queue.push(queued);
      this.startWhatFits();
    });
  }

  // First in, first out: a large job at the head is not overtaken by smaller ones, so it
  // cannot be starved; it starts as soon as enough running jobs have finished.
  private startWhatFits(): void {
    for (;;) {
      const next = this.queue[0];
      if (!next || this.running >= this.concurrency) return;
      if (this.memoryInUse + next.memory > this.memoryBudgetBytes) return;
      this.queue.shift();
      this.running += 1;
      this.memoryInUse += next.memory;
      // Settled into the job's own promise (its caller awaits that); nothing to wait for here.
      void runInProcess(next)
        .then(next.resolve, next.reject)
        .finally(() => {
          this.running -= 1;
          this.memoryInUse -= next.memory;
          this.startWhatFits();
        });
    }
  }
}

function runInProcess(job: Job): Promise<DeltaJobResult> {
  if (job.signal?.aborted) return Promise.reject(abortError(job.signal));
  const started = performance.now();
  return new Promise((resolve, reject) => {
    // Our pid, so the child can tell when we are gone (bsdiff-process.cjs says why it must be given).
    const child = fork(PROCESS_SCRIPT, [String(process.pid)], { execArgv: [], env: childEnv(process.env), stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    let answer: { ok: boolean; message?: string; maxRssBytes?: number } | undefined;
    child.stderr?.on('data', (piece: Buffer) => {
      if (stderr.length < 4096) stderr += piece.toString();
    });
    const onAbort = () => child.kill('SIGKILL');
    job.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('message', (message) => {
      answer = message as typeof answer;
    });
    child.on('error', reject);
    // 'close', not 'exit': 'exit' can come before the child's last IPC message has been
    // read, and a finished job then looked failed ("exit code 0"); 'close' waits for the
    // IPC channel and stderr to be drained.
    child.on('close', (code, signal) => {
      job.signal?.removeEventListener('abort', onAbort);
      if (job.signal?.aborted) return reject(abortError(job.signal));
      if (answer?.ok) return resolve({ elapsedMs: performance.now() - started, maxRssBytes: answer.maxRssBytes ?? 0 });
      const why = answer?.message ?? (signal ? `killed by ${signal}${signal === 'SIGKILL' ? ' (out of memory?)' : ''}` : `exit code ${code}`);
      reject(new AppError('IO', `bsdiff ${job.op} failed: ${why}${stderr ? `: ${stderr.trim().split('\n')[0]}` : ''}`));
    });
    child.send({ op: job.op, oldPath: job.oldPath, newPath: job.newPath, patchPath: job.patchPath });
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

function abortError(signal: AbortSignal | undefined): unknown {
  return signal?.reason ?? new Error('aborted');
}

function mib(bytes: number): number {
  return Math.ceil(bytes / (1024 * 1024));
}
