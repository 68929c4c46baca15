// An upload refused before its body is read (a repeated version, a wrong role) over real
// HTTP: the client must get the answer even when it is still sending, and an attacker must
// not be able to keep a refused connection open by sending forever (bounded by bytes and time).
import { createServer } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { lingerAfterAnswer, REFUSAL_LINGER } from '../../src/http/linger.ts';
import { pseudoRandom } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  await server.upload('early-refusal', '1.0', pseudoRandom(10_000, 'early-refusal'));
});

const CHUNK = Buffer.alloc(64 * 1024, 0x5a);

function head(path: string, token: string, contentLength: number): string {
  const { host } = new URL(server.url);
  return `POST ${path} HTTP/1.1\r\nhost: ${host}\r\nauthorization: Bearer ${token}\r\ncontent-type: application/octet-stream\r\ncontent-length: ${contentLength}\r\n\r\n`;
}

function open(): Promise<Socket> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => resolve(socket));
    socket.once('error', reject);
  });
}

function write(socket: Socket, bytes: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => socket.write(bytes, (err) => (err ? reject(err) : resolve())));
}

/** Resolves once the server has sent something, without reading it (the client is busy sending). */
function answerArrived(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.once('readable', () => resolve()));
}

/** Everything the server sent until it closed, or the error that lost it. */
function readToClose(socket: Socket): Promise<{ text: string; error?: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const take = () => {
      for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) chunks.push(chunk);
    };
    socket.on('readable', take);
    take();
    socket.once('error', (err: NodeJS.ErrnoException) => resolve({ text: Buffer.concat(chunks).toString('latin1'), error: err.code ?? err.message }));
    socket.once('close', () => resolve({ text: Buffer.concat(chunks).toString('latin1') }));
    socket.end();
  });
}

/**
 * A plain HTTP/1.1 client that sends the whole body before it reads the answer: the
 * refusal arrives while it is still sending, and it reads only afterwards.
 */
async function sendAllThenRead(path: string, token: string, bodyBytes: number) {
  const socket = await open();
  await write(socket, head(path, token, bodyBytes));
  const arrived = answerArrived(socket);
  await write(socket, CHUNK);
  await arrived;
  let sent = CHUNK.length;
  let writeError: string | undefined;
  try {
    while (sent < bodyBytes) {
      const piece = CHUNK.subarray(0, Math.min(CHUNK.length, bodyBytes - sent));
      await write(socket, piece);
      sent += piece.length;
    }
  } catch (err) {
    writeError = (err as NodeJS.ErrnoException).code ?? String(err);
  }
  const answer = await readToClose(socket);
  return { ...answer, writeError, sent };
}

/** Sends the head and a first chunk of a `declared`-byte body and waits for the refusal. */
async function refusedMidBody(declared: number): Promise<Socket> {
  const socket = await open();
  await write(socket, head('/api/v1/builds?model=early-refusal&version=1.0', server.tokens.acme, declared));
  const arrived = answerArrived(socket);
  await write(socket, CHUNK);
  await arrived;
  return socket;
}

/** Writes `piece` again and again (after `pauseMs` each) until the server closes the connection; the bytes that went out. */
async function sendUntilClosed(socket: Socket, piece: Buffer, pauseMs: number): Promise<number> {
  let sent = 0;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  let open = true;
  void closed.then(() => (open = false));
  while (open) {
    try {
      await write(socket, piece);
    } catch {
      break;
    }
    sent += piece.length;
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  return sent;
}

describe('an upload refused before its body is read, over real HTTP', () => {
  it.each([
    { refusal: '409 for a version the model already has', token: () => server.tokens.acme, status: 409, code: 'CONFLICT' },
    { refusal: '403 for a role that may not upload', token: () => server.tokens.operator, status: 403, code: 'FORBIDDEN' },
  ])('reaches a client that sends the rest of a 4 MiB body before it reads the answer: $refusal', async ({ token, status, code }) => {
    const result = await sendAllThenRead('/api/v1/builds?model=early-refusal&version=1.0', token(), 4 * 1024 * 1024);
    expect(result.writeError).toBeUndefined();
    expect(result.text).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    expect(result.text).toContain(`"code":"${code}"`);
    expect(result.text.toLowerCase()).toContain('connection: close');
  });

  it('closes the connection of a client that goes on sending past the byte bound', async () => {
    const socket = await refusedMidBody(1024 * 1024 * 1024);
    const sent = await sendUntilClosed(socket, Buffer.alloc(1024 * 1024, 1), 0);
    // What the server discarded, plus what the two kernels' socket buffers held.
    expect(sent).toBeLessThan(REFUSAL_LINGER.maxBytes + 32 * 1024 * 1024);
  });

  it('closes the connection of a client that goes quiet mid-body, once the idle bound is past', async () => {
    const socket = await refusedMidBody(1024 * 1024 * 1024);
    socket.on('error', () => {});
    // Nothing more is sent, and what comes is read: only the server can end this.
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.resume();
    await closed;
    expect(socket.bytesWritten).toBeLessThan(REFUSAL_LINGER.maxBytes);
  }, 60_000);

  it('closes the connection of a client that trickles its body, once the time bound is past', async () => {
    // A server of its own with short limits, so the total bound acts before the test's timeout.
    const limits = { maxBytes: 16 * 1024 * 1024, idleMs: 1_000, maxMs: 1_500 };
    const refuser = createServer((incoming, outgoing) => {
      lingerAfterAnswer(incoming, limits);
      outgoing.writeHead(409, { connection: 'close', 'content-length': '2' }).end('no');
    });
    await new Promise<void>((resolve) => refuser.listen(0, '127.0.0.1', () => resolve()));
    onTestFinished(() => new Promise<void>((resolve) => refuser.close(() => resolve())));
    const { port } = refuser.address() as AddressInfo;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    });
    const arrived = answerArrived(socket);
    await write(socket, `POST / HTTP/1.1\r\nhost: x\r\ncontent-length: ${1024 * 1024 * 1024}\r\n\r\n`);
    await arrived;
    // 1 KiB every 50 ms: never idle, far below the byte bound.
    const sent = await sendUntilClosed(socket, Buffer.alloc(1024, 1), 50);
    expect(sent).toBeLessThan(limits.maxBytes / 16);
  }, 60_000);
});
