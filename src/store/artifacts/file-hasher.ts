// SHA-256 of a staged upload computed on a worker thread that reads the file behind the
// writer. Hashing is about half of an upload's CPU; on the event loop it delayed every
// socket read behind it. Here the event loop only says how far the file is written, the
// worker reads that part back from the page cache (one extra copy, on its own core) and
// hashes it, so receiving, writing and hashing overlap. What is hashed is what the file
// holds, the bytes that will be served. One worker serves the process: started at the
// first upload, it does not keep the process alive, and one that dies fails the uploads
// it was hashing (the next upload starts another).
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

interface Waiting {
  resolve(sha256: string): void;
  reject(err: Error): void;
}

class HashWorker {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, Waiting>();
  /** Uploads being hashed, and the first failure of those that failed before asking for the digest. */
  private readonly live = new Set<number>();
  private readonly failed = new Map<number, Error>();

  constructor(onGone: () => void) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true });
    this.worker.unref();
    this.worker.on('message', (message: unknown) => {
      const reply = replySchema.parse(message);
      const waiting = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if ('sha256' in reply) return waiting?.resolve(reply.sha256);
      const err = new AppError('IO', `cannot hash the upload: ${reply.error}`);
      if (waiting) waiting.reject(err);
      else if (this.live.has(reply.id) && !this.failed.has(reply.id)) this.failed.set(reply.id, err);
    });
    const gone = (err: Error) => {
      onGone();
      for (const waiting of this.waiting.values()) waiting.reject(new AppError('IO', `the hashing thread stopped: ${err.message}`, { cause: err }));
      this.waiting.clear();
    };
    this.worker.on('error', gone);
    this.worker.on('exit', (code) => gone(new Error(`exit code ${code}`)));
  }

  open(id: number, path: string): void {
    this.live.add(id);
    this.post({ op: 'open', id, path });
  }

  post(message: { op: 'open'; id: number; path: string } | { op: 'written' | 'finish'; id: number; bytes: number } | { op: 'discard'; id: number }): void {
    this.worker.postMessage(message);
  }

  digest(id: number, bytes: number): Promise<string> {
    this.live.delete(id);
    const failed = this.failed.get(id);
    this.failed.delete(id);
    if (failed) return Promise.reject(failed);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.post({ op: 'finish', id, bytes });
    });
  }

  forget(id: number): void {
    this.live.delete(id);
    this.failed.delete(id);
    this.post({ op: 'discard', id });
  }
}

let shared: HashWorker | undefined;
let nextId = 1;

function hashWorker(): HashWorker {
  shared ??= new HashWorker(() => {
    shared = undefined;
  });
  return shared;
}

/** The running SHA-256 of one staged file, as far as it has been written. */
export class StagedFileHash {
  private readonly id = nextId++;
  private readonly worker = hashWorker();

  /** `path` must exist (the writer has created it). */
  constructor(path: string) {
    this.worker.open(this.id, path);
  }

  /** The file's first `bytes` bytes are written: the worker may hash them. */
  written(bytes: number): void {
    this.worker.post({ op: 'written', id: this.id, bytes });
  }

  /** Hex SHA-256 of the file's first `bytes` bytes, once every write has completed. */
  digest(bytes: number): Promise<string> {
    return this.worker.digest(this.id, bytes);
  }

  /** The upload failed: the worker closes the file and forgets it. */
  discard(): void {
    this.worker.forget(this.id);
  }
}
