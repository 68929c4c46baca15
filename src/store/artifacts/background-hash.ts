// SHA-256 of an upload computed on a worker thread, so hashing (about a third of an
// upload's time on the main thread, at ~1 GB/s) overlaps with receiving the bytes and
// writing them, and never holds the event loop. The bytes are not copied to the worker:
// they sit in SharedArrayBuffer blocks the uploader fills, and the worker reads the same
// memory. One worker serves the whole process; it is started at the first upload and
// does not keep the process alive.
import { Worker } from 'node:worker_threads';
import { z } from 'zod';

// A plain CommonJS script run with `eval`, so it loads the same from the TypeScript
// sources (tsx) and from the build in dist/, with no file of its own to locate.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'update') {
    let hash = hashes.get(m.id);
    if (!hash) hashes.set(m.id, (hash = createHash('sha256')));
    hash.update(new Uint8Array(m.buffer, 0, m.length));
    parentPort.postMessage({ id: m.id, seq: m.seq });
  } else if (m.op === 'digest') {
    const hash = hashes.get(m.id) ?? createHash('sha256');
    hashes.delete(m.id);
    parentPort.postMessage({ id: m.id, seq: m.seq, hex: hash.digest('hex') });
  } else if (m.op === 'discard') {
    hashes.delete(m.id);
  }
});
`;

const replySchema = z.object({ id: z.number(), seq: z.number(), hex: z.string().optional() });

interface Pending {
  resolve(hex: string | undefined): void;
  reject(err: Error): void;
}

class HashWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<string, Pending>();

  constructor(onExit: () => void) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true });
    this.worker.unref();
    this.worker.on('message', (message: unknown) => {
      const reply = replySchema.parse(message);
      const key = `${reply.id}:${reply.seq}`;
      const waiting = this.pending.get(key);
      this.pending.delete(key);
      waiting?.resolve(reply.hex);
    });
    const fail = (err: Error) => {
      onExit();
      for (const waiting of this.pending.values()) waiting.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the hashing thread exited with code ${code}`)));
  }

  request(message: { op: 'update' | 'digest'; id: number; seq: number; buffer?: SharedArrayBuffer; length?: number }): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      this.pending.set(`${message.id}:${message.seq}`, { resolve, reject });
      this.worker.postMessage(message);
    });
  }

  discard(id: number): void {
    this.worker.postMessage({ op: 'discard', id });
  }
}

let shared: HashWorker | undefined;
let nextId = 1;

function worker(): HashWorker {
  shared ??= new HashWorker(() => {
    shared = undefined; // the next upload starts a new one
  });
  return shared;
}

/** One running SHA-256 on the worker thread. Updates are hashed in the order given. */
export class BackgroundHash {
  private readonly id = nextId++;
  private readonly worker = worker();
  private seq = 0;

  /**
   * Hashes the first `length` bytes of `buffer`. The promise settles once the worker has
   * read them: until then the caller must not change those bytes.
   */
  update(buffer: SharedArrayBuffer, length: number): Promise<void> {
    return this.worker.request({ op: 'update', id: this.id, seq: this.seq++, buffer, length }).then(() => undefined);
  }

  /** Hex digest of everything given to update(), after all of it. */
  async digest(): Promise<string> {
    const hex = await this.worker.request({ op: 'digest', id: this.id, seq: this.seq++ });
    if (hex === undefined) throw new Error('the hashing thread answered without a digest');
    return hex;
  }

  /** Drops the running hash (an upload that failed). */
  discard(): void {
    this.worker.discard(this.id);
  }
}
