// The benchmarks' upload client, in a process of its own: a manufacturer's uploader is
// another process (usually another machine), not a task on the server's event loop. In
// the server's process it took a share of the event loop, and of the 2 cores, that no real
// upload costs the server: its reads of the file and its socket sends were the largest
// main-thread cost in the upload profile. The child is plain CommonJS run with `-e` (no
// TypeScript loader to start), takes one job per stdin line and answers each on stdout
// with the wall time it took and its own CPU time, so callers can still report the
// client's share beside the server's.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const CLIENT_SOURCE = `
const { request } = require('node:http');
const { open } = require('node:fs/promises');
const { createInterface } = require('node:readline');
const BLOCK = 1024 * 1024;
// Two blocks, reused for every upload: the next is read while the last is being sent. A
// stream would allocate a buffer per read, and the collections that frees them took a
// third of this process's CPU; on 2 cores that is CPU the server's threads wait for.
const blocks = [Buffer.allocUnsafeSlow(BLOCK), Buffer.allocUnsafeSlow(BLOCK)];
async function send(job) {
  const file = await open(job.path, 'r');
  try {
    const { size } = await file.stat();
    const req = request(job.url, { method: 'POST', headers: { ...job.headers, 'content-type': 'application/octet-stream', 'content-length': String(size) } });
    const answer = new Promise((resolve, reject) => {
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (piece) => (body += piece));
        res.on('end', () => resolve({ status: res.statusCode || 0, body }));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    // An early answer (a refusal before the whole body) ends the sending.
    let answered = false;
    answer.then(() => (answered = true), () => (answered = true));
    // Each block's send, awaited before that block is read into again: the socket holds
    // the bytes until its callback (flushed to the kernel).
    const sent = [Promise.resolve(), Promise.resolve()];
    let at = 0;
    for (let k = 0; at < size && !answered; k ^= 1) {
      await Promise.race([sent[k], answer]);
      if (answered) break;
      const { bytesRead } = await file.read(blocks[k], 0, Math.min(BLOCK, size - at), at);
      if (bytesRead === 0) throw new Error(job.path + ' ended at byte ' + at + ' of ' + size);
      at += bytesRead;
      const sending = new Promise((resolve, reject) => req.write(blocks[k].subarray(0, bytesRead), (err) => (err ? reject(err) : resolve())));
      sending.catch(() => {}); // reported by the await on it, or by the request's error
      sent[k] = sending;
    }
    if (!answered) req.end();
    const result = await answer;
    if (at < size) req.destroy();
    return result;
  } finally {
    await file.close();
  }
}
let queue = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  const job = JSON.parse(line);
  queue = queue.then(async () => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    try {
      const { status, body } = await send(job);
      const ms = performance.now() - started;
      const used = process.cpuUsage(cpu);
      process.stdout.write(JSON.stringify({ id: job.id, status, body, ms, cpuMs: (used.user + used.system) / 1000 }) + '\\n');
    } catch (err) {
      process.stdout.write(JSON.stringify({ id: job.id, error: String((err && err.message) || err) }) + '\\n');
    }
  });
});
`;

export interface UploadJob {
  url: string;
  path: string;
  headers: Record<string, string>;
}

export interface UploadAnswer {
  status: number;
  body: string;
  /** From the first byte sent to the end of the response, in the client. */
  ms: number;
  /** The client process's CPU for this upload (user + system, all its threads). */
  cpuMs: number;
}

type Reply = { id: number; error: string } | ({ id: number } & UploadAnswer);

/** One long-lived client process; uploads run one after another, in the order asked. */
export class UploadClient {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<number, { resolve(answer: UploadAnswer): void; reject(err: Error): void }>();
  private nextId = 1;
  private exited: Error | undefined;

  constructor() {
    this.child = spawn(process.execPath, ['-e', CLIENT_SOURCE], { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (line) => this.answered(JSON.parse(line) as Reply));
    this.child.once('exit', (code, signal) => {
      this.exited = new Error(`the upload client exited (${signal ?? `code ${code}`})`);
      for (const { reject } of this.waiting.values()) reject(this.exited);
      this.waiting.clear();
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  upload(job: UploadJob): Promise<UploadAnswer> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.stdin?.write(`${JSON.stringify({ id, ...job })}\n`);
    });
  }

  close(): void {
    this.child.stdin?.end();
    this.child.kill();
  }

  private answered(reply: Reply): void {
    const waiting = this.waiting.get(reply.id);
    this.waiting.delete(reply.id);
    if (!waiting) return;
    if ('error' in reply) waiting.reject(new Error(`upload client: ${reply.error}`));
    else waiting.resolve(reply);
  }
}
