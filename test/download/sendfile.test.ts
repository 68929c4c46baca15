// Downloads handed to the kernel (src/download/sendfile.ts and native/sendfile), checked
// through real HTTP against the same downloads copied through JavaScript
// (FOTA_DOWNLOAD_SENDFILE=off): the same bytes and counts for whole files and ranges, a
// client that pauses (the socket fills and the server waits for it to drain), a client
// that hangs up while paused (nothing left open behind it), and a file that turns out
// shorter than recorded (the response breaks off, never pads), and a client that stops
// reading (cut off at the stall limit). The addon's own entry points are called with bad
// arguments as well.
import { closeSync, openSync, readdirSync } from 'node:fs';
import { readFile, truncate } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { constants } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sendfileAddon, sendfileMissing } from '../../src/download/sendfile-addon.ts';
import { deploy, get, publish, servedOf } from '../support/downloads.ts';
import { metricValue } from '../support/metrics.ts';
import { capturedLog, startTestServer, type TestServer } from '../support/server.ts';

const built = sendfileMissing === undefined;
if (!built) {
  // `npm ci` builds it (scripts/native.mjs): CI must test it.
  if (process.env.CI === 'true') throw new Error(`the sendfile addon is missing in CI: ${sendfileMissing}`);
  console.warn(`skipping the sendfile path: ${sendfileMissing}`);
}

/** Larger than loopback's socket buffers take at once from a paused reader. */
const LARGE = 6_000_000;

/** The stall limit of these servers: far above the pauses of the tests that must not be cut off. */
const STALL_SECONDS = 1.5;

/** Descriptors this process holds: the server runs in it, so a leak shows here. */
const openDescriptors = () => readdirSync('/proc/self/fd').length;

async function sendfileBytes(server: TestServer): Promise<number> {
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  return metricValue(metrics, 'fota_download_sendfile_bytes_total');
}

/** Waits until this process holds no more descriptors than `count` (or 3 s have passed). */
async function descriptorsBackTo(count: number): Promise<number> {
  const deadline = Date.now() + 3_000;
  while (openDescriptors() > count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return openDescriptors();
}

/**
 * Reads the response to `url`, pausing for `pauseMs` (or until `resumeWhen`) after each
 * of the first `pauses` chunks (the server's writes then wait on a full socket), or
 * hanging up at the first pause when `hangUp`. Resolves with the bytes received and
 * whether the body was whole.
 */
function readSlowly(url: string, options: { pauses: number; pauseMs: number; hangUp?: boolean; resumeWhen?: Promise<unknown>; headers?: Record<string, string> }) {
  return new Promise<{ status: number; body: Buffer; complete: boolean }>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let pauses = 0;
    const req = httpRequest(url, { headers: options.headers ?? {} }, (res) => {
      const done = (complete: boolean) => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), complete });
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        if (pauses >= options.pauses) return;
        pauses += 1;
        res.pause();
        const resume = () => {
          if (options.hangUp) {
            req.destroy();
            done(false);
          } else res.resume();
        };
        if (options.resumeWhen) void options.resumeWhen.then(resume);
        else setTimeout(resume, options.pauseMs);
      });
      res.on('end', () => done(res.complete));
      res.on('aborted', () => done(false));
      res.on('error', () => done(false));
    });
    // Broken off before any head: no response at all.
    req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve({ status: 0, body: Buffer.concat(chunks), complete: false }) : reject(err)));
    req.end();
  });
}

describe.each([
  { mode: 'sendfile', sendfile: true },
  { mode: 'copied through JavaScript', sendfile: false },
])('downloads $mode', ({ sendfile }) => {
  const viaKernel = sendfile && built;
  let server: TestServer;
  let small: Awaited<ReturnType<typeof publish>>;
  let large: Awaited<ReturnType<typeof publish>>;
  let huge: Awaited<ReturnType<typeof publish>>;
  const logged = capturedLog();
  const objectOf = (sha256: string) => join(server.ctx.config.artifactsDir, sha256.slice(0, 2), sha256);

  beforeAll(async () => {
    server = await startTestServer({ download: { cacheBytes: 32 * 1024 * 1024, redirect: 'off', redirectTtlSeconds: 60, sendfile, stallSeconds: STALL_SECONDS, maxPerDeployment: 4 } }, { log: logged.log });
    small = await publish(server, `sf-small-${String(sendfile)}`, 300_000);
    large = await publish(server, `sf-large-${String(sendfile)}`, LARGE);
    // Four times what the socket buffers held from a paused reader in any run here.
    huge = await publish(server, `sf-huge-${String(sendfile)}`, 4 * LARGE);
  });

  it('serves whole files and ranges byte for byte, counts them, and says which way they went', async () => {
    const file = await readFile(objectOf(large.sha256));
    const before = await sendfileBytes(server);
    const ranges: Array<[number, number]> = [
      [0, 0],
      [1, 262_143],
      [262_144, 1_048_576],
      [large.size - 10, large.size - 1],
    ];
    let expected = large.size;
    const whole = await deploy(server, large);
    const { res, body } = await get(whole.url);
    expect(res.status).toBe(200);
    expect(body.equals(file)).toBe(true);
    for (const [start, end] of ranges) {
      const link = await deploy(server, large);
      const part = await get(link.url, { range: `bytes=${start}-${end}` });
      expect(part.res.status).toBe(206);
      expect(part.res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${large.size}`);
      expect(part.body.equals(file.subarray(start, end + 1))).toBe(true);
      expect(await servedOf(server, link.deploymentId, end - start + 1)).toBe(end - start + 1);
      expected += end - start + 1;
    }
    expect(await servedOf(server, whole.deploymentId, large.size)).toBe(large.size);
    expect((await sendfileBytes(server)) - before).toBe(viaKernel ? expected : 0);
  });

  /** Reads `pkg` through a new link, pausing as told, and expects all of it, counted once. */
  async function readWholeWithPauses(pkg: typeof large, pauses: number, pauseMs: number) {
    const { url, deploymentId } = await deploy(server, pkg);
    const read = await readSlowly(url, { pauses, pauseMs });
    expect(read).toMatchObject({ status: 200, complete: true });
    expect(read.body.equals(await readFile(objectOf(pkg.sha256)))).toBe(true);
    expect(await servedOf(server, deploymentId, pkg.size)).toBe(pkg.size);
  }

  it('waits for a client that pauses, and then sends the rest whole', async () => {
    await readWholeWithPauses(large, 3, 150);
  });

  it('counts no more than was sent to a client that hangs up while paused, and leaves nothing open', async () => {
    // A first download settles what the server opens once (the object's path, statements).
    await get((await deploy(server, small)).url);
    const descriptors = openDescriptors();
    // The huge package: in one CI run the socket buffers of a paused reader took all of
    // the large one (6 MB) before the client hung up (loopback's receive buffer may grow to
    // 32 MiB here, net.ipv4.tcp_rmem), and the test then proved nothing.
    const links = await Promise.all([1, 2, 3].map(() => deploy(server, huge)));
    const reads = await Promise.all(links.map((link) => readSlowly(link.url, { pauses: 1, pauseMs: 150, hangUp: true })));
    for (const [i, link] of links.entries()) {
      const received = reads[i]?.body.length ?? 0;
      const served = await servedOf(server, link.deploymentId, (bytes) => bytes >= received && received > 0);
      expect(served).toBeGreaterThanOrEqual(received);
      expect(served).toBeLessThan(huge.size);
    }
    // The file, and the watcher's copy of the socket, are closed with each response.
    expect(await descriptorsBackTo(descriptors)).toBeLessThanOrEqual(descriptors);
  });

  it('cuts off a client that stops reading once the stall limit has passed, counts what it took, and leaves nothing open', async () => {
    await get((await deploy(server, small)).url);
    const descriptors = openDescriptors();
    const links = await Promise.all([1, 2].map(() => deploy(server, huge)));
    const cutOff = () => logged.lines().filter((line) => line.includes('download cut off'));
    const before = cutOff().length;
    const started = Date.now();
    // The clients read again only once the server has cut both off (or 20 s have passed).
    const bothCut = (async () => {
      while (cutOff().length < before + 2 && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 50));
    })();
    const reads = await Promise.all(links.map((link) => readSlowly(link.url, { pauses: 1, pauseMs: 0, resumeWhen: bothCut })));
    const cut = cutOff().slice(before);
    expect(cut).toHaveLength(2);
    // Never before the limit (a lower bound: a slow machine only makes it later).
    expect(Date.now() - started).toBeGreaterThanOrEqual(STALL_SECONDS * 1000);
    expect(JSON.parse(cut[0] as string)).toMatchObject({ level: 30, stallSeconds: STALL_SECONDS });
    const file = await readFile(objectOf(huge.sha256));
    let servedInAll = 0;
    for (const [i, link] of links.entries()) {
      const read = reads[i];
      const received = read?.body.length ?? 0;
      // Reset: what the client had not read when it was cut off is gone with the connection.
      expect(read).toMatchObject({ status: 200, complete: false });
      expect(received).toBeGreaterThan(0);
      expect(read?.body.equals(file.subarray(0, received))).toBe(true);
      const served = await servedOf(server, link.deploymentId, (bytes) => bytes > 0);
      expect(served).toBeGreaterThanOrEqual(received);
      expect(served).toBeLessThan(huge.size);
      servedInAll += served;
    }
    // Recorded as logged: what the sockets took, less what they held unacknowledged at the reset.
    expect(cut.reduce((sum, line) => sum + (JSON.parse(line) as { sent: number }).sent, 0)).toBe(servedInAll);
    expect(await descriptorsBackTo(descriptors)).toBeLessThanOrEqual(descriptors);
  });

  it('does not cut off a client whose pauses add up to more than the stall limit, each shorter', async () => {
    await readWholeWithPauses(huge, 5, 400);
  });

  it('answers requests pipelined on one connection in order, each whole', async () => {
    const file = await readFile(objectOf(large.sha256));
    const links = await Promise.all([0, 1, 2].map(() => deploy(server, large)));
    const ranges = ['bytes=5-2000004', 'bytes=0-', 'bytes=1000-1009'];
    const { port } = new URL(server.url);
    // All three requests in one write: Node holds the later answers until the one before
    // is complete, and none of their bytes may land inside another's body.
    const raw = await new Promise<Buffer>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(links.map((link, i) => `GET ${new URL(link.url).pathname} HTTP/1.1\r\nHost: x\r\nRange: ${ranges[i]}\r\n${i === 2 ? 'Connection: close\r\n' : ''}\r\n`).join(''));
      });
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => resolve(Buffer.concat(chunks)));
      socket.on('error', reject);
    });
    const expected = [file.subarray(5, 2_000_005), file.subarray(0), file.subarray(1000, 1010)];
    let at = 0;
    for (const body of expected) {
      const headEnd = raw.indexOf('\r\n\r\n', at);
      const head = raw.subarray(at, headEnd).toString('latin1');
      expect(head).toMatch(/^HTTP\/1\.1 206 /);
      expect(head).toContain(`content-length: ${body.length}`);
      const start = headEnd + 4;
      expect(raw.subarray(start, start + body.length).equals(body)).toBe(true);
      at = start + body.length;
    }
    expect(at).toBe(raw.length);
  });

  it('breaks a response off where the file turns out shorter than recorded, and serves nothing made up', async () => {
    const pkg = await publish(server, `sf-short-${String(sendfile)}`, 2_000_000);
    const object = objectOf(pkg.sha256);
    const original = await readFile(object);
    await truncate(object, 1_000_000);
    const { url, deploymentId } = await deploy(server, pkg);
    const read = await readSlowly(url, { pauses: 0, pauseMs: 0 });
    // sendfile sends the bytes there are, then breaks off; the copying path reads the
    // first 1 MiB block whole before its head goes out, so it breaks off before the head.
    expect(read).toMatchObject({ status: viaKernel ? 200 : 0, complete: false });
    expect(read.body.length).toBeLessThan(pkg.size);
    expect(read.body.equals(original.subarray(0, read.body.length))).toBe(true);
    const served = await servedOf(server, deploymentId, read.body.length);
    expect(served).toBeLessThanOrEqual(1_000_000);
  });
});

describe.runIf(built)('the sendfile addon, called with what it must refuse', () => {
  const addon = sendfileAddon as NonNullable<typeof sendfileAddon>;

  it('refuses arguments that are not descriptors, offsets and lengths', () => {
    const refused = [[], [1, 2, 3], [-1, 0, 0, 1], [1, 0, -5, 1], [1, 0, 0, -1], ['1', 0, 0, 1], [1, 0, 0, Number.NaN], [1, 0, 0, {}], [1.5, 0, 0, 1], [1, 0, Infinity, 1], [2 ** 31, 0, 0, 1], [1, 0, 2 ** 60, 1]];
    for (const args of refused) {
      expect(() => (addon.sendFile as (...a: unknown[]) => number)(...args), JSON.stringify(args)).toThrow(TypeError);
    }
    expect(() => (addon.watcherOpen as (...a: unknown[]) => object)(-1)).toThrow(TypeError);
    expect(() => (addon.watcherWait as (...a: unknown[]) => void)({}, () => {})).toThrow(TypeError);
    expect(() => (addon.watcherClose as (...a: unknown[]) => void)('watcher')).toThrow(TypeError);
    for (const fd of [undefined, -1, 1.5, Number.NaN, 2 ** 31, '3']) {
      expect(() => (addon.unsentBytes as (...a: unknown[]) => number)(fd), String(fd)).toThrow(TypeError);
    }
  });

  it('reports a closed or wrong descriptor as an error number, not a crash', async () => {
    expect(addon.sendFile(1_000_000, 1_000_001, 0, 10)).toBe(-constants.errno.EBADF);
    await withConnection(async (fd) => {
      // A socket is no file to send from: the kernel says so.
      expect(addon.sendFile(fd, fd, 0, 10)).toBeLessThan(0);
      expect(addon.sendFile(fd, fd, 0, 0)).toBe(0);
    });
    expect(() => addon.watcherOpen(1_000_000)).toThrow(/cannot duplicate/);
    expect(addon.unsentBytes(1_000_000)).toBe(-constants.errno.EBADF);
  });

  it('says how many bytes a socket holds that its peer has not acknowledged', async () => {
    const file = openSync(process.execPath, 'r');
    try {
      await withConnection(async (fd) => {
        expect(addon.unsentBytes(fd)).toBe(0);
        // The peer reads nothing: what the socket took stays in it, unacknowledged or unsent.
        const took = addon.sendFile(fd, file, 0, 64 * 1024 * 1024);
        expect(took).toBeGreaterThan(0);
        expect(took).toBeLessThan(64 * 1024 * 1024);
        const unsent = addon.unsentBytes(fd);
        expect(unsent).toBeGreaterThan(0);
        expect(unsent).toBeLessThanOrEqual(took);
      });
      // Not a socket: an error number.
      expect(addon.unsentBytes(file)).toBeLessThan(0);
    } finally {
      closeSync(file);
    }
  });

  it('closes a watcher once however often it is told, and refuses to wait on a closed one', async () => {
    await withConnection(async (fd) => {
      const descriptors = openDescriptors();
      const watcher = addon.watcherOpen(fd);
      expect(openDescriptors()).toBeGreaterThan(descriptors);
      expect(() => addon.watcherWait(watcher, 'not a function' as unknown as () => void)).toThrow(TypeError);
      // A fresh connection can take bytes: the watcher says so once.
      expect(await new Promise((resolve) => addon.watcherWait(watcher, resolve))).toBe(0);
      addon.watcherClose(watcher);
      addon.watcherClose(watcher);
      expect(() => addon.watcherWait(watcher, () => {})).toThrow(/closed/);
      // The copy is closed once the event loop has closed the handle.
      const deadline = Date.now() + 2_000;
      while (openDescriptors() > descriptors && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(openDescriptors()).toBe(descriptors);
    });
  });
});

/** Runs `use` with the descriptor of one end of a loopback TCP connection. */
async function withConnection(use: (fd: number) => Promise<void>): Promise<void> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const socket = connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const other = await accepted;
  try {
    await use((socket as Socket & { _handle: { fd: number } })._handle.fd);
  } finally {
    socket.destroy();
    other.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}
