// SHA-256 of a staged upload computed on a worker thread that reads the file behind the
// writer. On the event loop, hashing was the largest single cost of an upload (a third of
// the loop's time on a 200 MB one) and delayed every socket read behind it. Here the event
// loop only says how far the file is written; the worker reads that part back from the
// page cache (one extra copy, on its own thread) and hashes it, so receiving, writing and
// hashing overlap. What is hashed is what the file holds, the bytes that will be served.
//
// One worker serves the process, started at the first upload. It keeps the process alive
// only while an upload is being hashed (a command that awaits a digest must get it), and
// never once none is: `fota serve` must exit after SIGTERM. A worker that dies fails the
// uploads it was hashing, at once, and the next upload starts another.
import { Worker } from 'node:worker_threads';
import { z } from 'zod';
import { AppError } from '../../errors.ts';

// A plain CommonJS script run with `eval`, so it loads the same from the TypeScript
// sources (tsx) and from a build, with no file of its own to locate.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, closeSync } = require('node:fs');
const READ_BYTES = 4 * 1024 * 1024;
const buffer = Buffer.allocUnsafe(READ_BYTES);
const files = new Map();
function hashUpTo(file, end) {
  while (file.at < end) {
    const n = readSync(file.fd, buffer, 0, Math.min(READ_BYTES, end - file.at), file.at);
    if (n === 0) throw new Error('the staged file ended at byte ' + file.at + ', before the ' + end + ' written');
    file.hash.update(buffer.subarray(0, n));
    file.at += n;
  }
}
function drop(id) {
  const file = files.get(id);
  files.delete(id);
  if (file) closeSync(file.fd);
}
parentPort.on('message', (m) => {
  try {
    if (m.op === 'open') files.set(m.id, { fd: openSync(m.path, 'r'), hash: createHash('sha256'), at: 0 });
    else if (m.op === 'written') {
      // Absent once its hashing failed (already reported) or it was discarded.
      const file = files.get(m.id);
      if (file) hashUpTo(file, m.bytes);
    } else if (m.op === 'finish') {
      const file = files.get(m.id);
      if (!file) throw new Error('its hashing failed earlier');
      hashUpTo(file, m.bytes);
      drop(m.id);
      parentPort.postMessage({ id: m.id, sha256: file.hash.digest('hex') });
    } else if (m.op === 'discard') drop(m.id);
  } catch (err) {
    try { drop(m.id); } catch {}
    if (m.op !== 'discard') parentPort.postMessage({ id: m.id, error: String(err && err.message || err) });
  }
});
`;

const replySchema = z.union([z.object({ id: z.number(), sha256: z.string() }), z.object({ id: z.number(), error: z.string() })]);

type Message = { op: 'open'; id: number; path: string } | { op: 'written' | 'finish'; id: number; bytes: number } | { op: 'discard'; id: number };

interface Waiting {
  resolve(sha256: string): void;
  reject(err: Error): void;
}

class HashWorker {
  private readonly worker: Worker;
  /** Uploads opened and not yet settled (digest answered, or discarded): while any, the worker is ref'd. */
  private readonly live = new Set<number>();
  private readonly waiting = new Map<number, Waiting>();
  /** The first failure of an upload that failed before it asked for its digest. */
  private readonly failed = new Map<number, Error>();
  /** Set once the thread has stopped: every later call fails at once instead of waiting forever. */
  private stopped: Error | undefined;

  constructor(onGone: () => void) {
    // No flags of the parent (tsx's loader, --cpu-prof): the script is plain CommonJS.
    this.worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
    // Listeners before unref(): on Node 20, adding a 'message' listener to a Worker refs it
    // again, and a worker unref'd first kept `fota serve` running after SIGTERM forever.
    this.worker.on('message', (message: unknown) => this.answered(replySchema.parse(message)));
    const gone = (err: Error) => {
      if (this.stopped) return;
      this.stopped = new AppError('IO', `the hashing thread stopped: ${err.message}`, { cause: err });
      onGone();
      for (const waiting of this.waiting.values()) waiting.reject(this.stopped);
      this.waiting.clear();
      this.live.clear();
      this.failed.clear();
    };
    this.worker.on('error', gone);
    this.worker.on('exit', (code) => gone(new Error(`exit code ${code}`)));
    this.worker.unref();
  }

  open(id: number, path: string): void {
    if (this.stopped) throw this.stopped;
    this.live.add(id);
    if (this.live.size === 1) this.worker.ref();
    this.post({ op: 'open', id, path });
  }

  written(id: number, bytes: number): void {
    if (this.live.has(id)) this.post({ op: 'written', id, bytes });
  }

  digest(id: number, bytes: number): Promise<string> {
    if (this.stopped) return Promise.reject(this.stopped);
    const failed = this.failed.get(id);
    if (failed || !this.live.has(id)) {
      this.settle(id);
      return Promise.reject(failed ?? new Error(`upload ${id} is not being hashed`));
    }
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.post({ op: 'finish', id, bytes });
    });
  }

  discard(id: number): void {
    if (!this.live.has(id)) return;
    this.settle(id);
    this.post({ op: 'discard', id });
  }

  private answered(reply: z.infer<typeof replySchema>): void {
    const waiting = this.waiting.get(reply.id);
    if ('sha256' in reply) {
      this.settle(reply.id);
      return waiting?.resolve(reply.sha256);
    }
    const err = new AppError('IO', `cannot hash the upload: ${reply.error}`);
    if (waiting) {
      this.settle(reply.id);
      waiting.reject(err);
    } else if (this.live.has(reply.id) && !this.failed.has(reply.id)) this.failed.set(reply.id, err);
  }

  private settle(id: number): void {
    this.waiting.delete(id);
    this.failed.delete(id);
    if (this.live.delete(id) && this.live.size === 0 && !this.stopped) this.worker.unref();
  }

  private post(message: Message): void {
    this.worker.postMessage(message);
  }
}

let shared: HashWorker | undefined;
let nextId = 1;

function hashWorker(): HashWorker {
  const worker = shared ?? new HashWorker(() => {
    if (shared === worker) shared = undefined;
  });
  shared = worker;
  return worker;
}

/**
 * How far the file must have grown since the thread was last told before it is told
 * again. Each message wakes the thread, which costs the event loop a syscall and, on a
 * busy machine, far more than the message itself (a fifth of a millisecond each in a
 * profile at load 30 when told of every 1 MiB write); the thread reads 4 MiB at a time.
 */
const TELL_EVERY_BYTES = 4 * 1024 * 1024;

/** The running SHA-256 of one staged file, as far as it has been written. */
export class StagedFileHash {
  private readonly id = nextId++;
  private readonly worker = hashWorker();
  private told = 0;

  /** `path` must exist (the writer has created it). */
  constructor(path: string) {
    this.worker.open(this.id, path);
  }

  /**
   * The file's first `bytes` bytes are written: the worker may hash them. `all` says no
   * more will come: told at once, so the thread hashes the tail while the file is synced
   * rather than after, when the digest is asked for and the answer waits on it.
   */
  written(bytes: number, all = false): void {
    if (bytes - this.told < (all ? 1 : TELL_EVERY_BYTES)) return;
    this.told = bytes;
    this.worker.written(this.id, bytes);
  }

  /** Hex SHA-256 of the file's first `bytes` bytes, once every write has completed. */
  digest(bytes: number): Promise<string> {
    return this.worker.digest(this.id, bytes);
  }

  /** The upload failed: the worker closes the file and forgets it. Safe to call more than once, or after digest. */
  discard(): void {
    this.worker.discard(this.id);
  }
}
