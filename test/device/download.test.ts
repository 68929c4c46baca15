// The agent's downloader against a real node:http server on loopback that serves `.fota`
// files with Range, If-Range and a strong ETag (and can be told to fail): it checks the
// envelope before asking for the payload, resumes from the bytes on disk after a cut and
// across instances, fetches a bad chunk again alone, and starts over when the file changes.
import { access, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADER_PROBE_BYTES, PackageDownloader, type DownloaderOptions } from '../../src/device/download.ts';
import { readFotaFile } from '../../src/packages/fota-file.ts';
import type { DeviceFacts } from '../../src/packages/verify.ts';
import { generateKey } from '../../src/signing/keys.ts';
import { sha256, tempDir, tempDirFor } from '../support/harness.ts';
import { makeTestPackage, type TestPackage } from '../support/packages.ts';

interface Served {
  path: string;
  range?: string;
  ifRange?: string;
  status: number;
}

/** A file server with Range/If-Range/ETag, a request log, and queued failures per path. */
class FileServer {
  readonly files = new Map<string, Buffer>();
  readonly failures = new Map<string, number[]>();
  /** Headers sent with each queued failure of a path (a 503's Retry-After). */
  readonly failureHeaders = new Map<string, Record<string, string>>();
  /** Paths served as by a server that ignores Range (always 200, the whole file). */
  readonly noRanges = new Set<string>();
  readonly log: Served[] = [];
  private readonly server = createServer((req, res) => this.handle(req, res));
  port = 0;

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  requestsFor(path: string): Served[] {
    return this.log.filter((r) => r.path === path);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = req.url ?? '';
    const entry: Served = { path, status: 0, ...(req.headers.range ? { range: req.headers.range } : {}), ...(req.headers['if-range'] ? { ifRange: String(req.headers['if-range']) } : {}) };
    this.log.push(entry);
    const reply = (status: number, headers: Record<string, string> = {}, body?: Buffer) => {
      entry.status = status;
      res.writeHead(status, headers);
      res.end(body);
    };
    const failure = this.failures.get(path)?.shift();
    if (failure !== undefined) return reply(failure, { 'content-type': 'text/plain', ...this.failureHeaders.get(path) }, Buffer.from('no\n'));
    const file = this.files.get(path);
    if (!file) return reply(404, { 'content-type': 'text/plain' }, Buffer.from('not found\n'));
    const etag = `"${sha256(file)}"`;
    const common = { etag, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    const match = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    if (match && !this.noRanges.has(path) && (ifRange === undefined || ifRange === etag)) {
      const start = Number(match[1]);
      if (start >= file.length) return reply(416, { ...common, 'content-range': `bytes */${file.length}` });
      const end = match[2] ? Math.min(Number(match[2]), file.length - 1) : file.length - 1;
      return reply(206, { ...common, 'content-range': `bytes ${start}-${end}/${file.length}`, 'content-length': String(end - start + 1) }, file.subarray(start, end + 1));
    }
    return reply(200, { ...common, 'content-length': String(file.length) }, file);
  }
}

let server: FileServer;
/** A full image package: ~400 KB payload in 4 KiB chunks (98 of them; the envelope is longer than the first probe). */
let fullPkg: TestPackage;
let fullFile: Buffer;
let payloadOffset: number;
let deltaPkg: TestPackage;
let otherPkg: TestPackage;

beforeAll(async () => {
  server = new FileServer();
  await server.start();
  const dir = tempDirFor('device-dl', afterAll);
  const mk = async (name: string, options: Parameters<typeof makeTestPackage>[1]) => {
    const sub = join(dir, name);
    await import('node:fs/promises').then((fs) => fs.mkdir(sub));
    return makeTestPackage(sub, options);
  };
  fullPkg = await mk('full', { full: true, chunkSize: 4096 });
  deltaPkg = await mk('delta', { chunkSize: 4096 });
  otherPkg = await mk('other', { full: true, chunkSize: 4096, size: 300_000 });
  fullFile = await readFile(fullPkg.packagePath);
  payloadOffset = (await readFotaFile(fullPkg.packagePath)).payloadOffset;
  server.files.set('/full.fota', fullFile);
  server.files.set('/delta.fota', await readFile(deltaPkg.packagePath));
  server.files.set('/other.fota', await readFile(otherPkg.packagePath));
});

afterAll(() => server.close());

function downloader(pkg: TestPackage, options: Partial<DownloaderOptions> & { dir?: string; facts?: DeviceFacts } = {}) {
  const { facts, ...rest } = options;
  return new PackageDownloader({
    dir: options.dir ?? join(tempDir(), 'download'),
    trust: { keys: [pkg.key] },
    device: async () => facts ?? { model: 'router-x', securityVersion: 0 },
    retryDelayMs: 5,
    ...rest,
  });
}

/** The path of a fresh copy of a file on the server, so request logs do not mix. */
let copies = 0;
function serve(bytes: Buffer): string {
  const path = `/copy-${++copies}.fota`;
  server.files.set(path, bytes);
  return path;
}

const rangeOfChunk = (index: number, chunkSize = 4096) => `bytes=${payloadOffset + index * chunkSize}-${payloadOffset + (index + 1) * chunkSize - 1}`;

describe('PackageDownloader', () => {
  it('reads header and envelope first, then the rest of the file in one request, and checks it all', async () => {
    const path = serve(fullFile);
    const dl = downloader(fullPkg);
    const got = await dl.download(server.url(path));
    expect(got).toMatchObject({ ok: true, payloadOffset, manifest: { payload: { kind: 'full' } } });
    expect((await readFile(dl.partPath)).equals(fullFile)).toBe(true);
    // The envelope (98 chunk hashes) is longer than the probe: its remainder comes next, exactly.
    expect(payloadOffset).toBeGreaterThan(HEADER_PROBE_BYTES);
    expect(server.requestsFor(path).map((r) => r.range)).toEqual([`bytes=0-${HEADER_PROBE_BYTES - 1}`, `bytes=${HEADER_PROBE_BYTES}-${payloadOffset - 1}`, `bytes=${payloadOffset}-`]);
    expect(server.requestsFor(path)[2]?.ifRange).toBe(`"${sha256(fullFile)}"`);
    expect(dl.bytesReceived).toBe(fullFile.length);
    expect(await dl.completed()).toMatchObject({ path: dl.partPath });
  });

  it('keeps the payload bytes that came with the probe: a small package takes one request', async () => {
    const file = await readFile(deltaPkg.packagePath);
    expect(file.length).toBeLessThan(HEADER_PROBE_BYTES);
    const path = serve(file);
    const dl = downloader(deltaPkg);
    expect(await dl.download(server.url(path))).toMatchObject({ ok: true, manifest: { payload: { kind: 'bsdiff40' } } });
    expect(server.requestsFor(path).map((r) => r.range)).toEqual([`bytes=0-${HEADER_PROBE_BYTES - 1}`]);
    expect((await readFile(dl.partPath)).equals(file)).toBe(true);
  });

  it('resumes after a cut connection from exactly the bytes it has', async () => {
    const path = serve(fullFile);
    const cutAt = payloadOffset + 150_000;
    const dl = downloader(fullPkg, { faults: { cutAt: [cutAt] } });
    expect(await dl.download(server.url(path))).toMatchObject({ ok: true });
    expect((await readFile(dl.partPath)).equals(fullFile)).toBe(true);
    expect(server.requestsFor(path).map((r) => r.range).slice(2)).toEqual([`bytes=${payloadOffset}-`, `bytes=${cutAt}-`]);
    expect(server.requestsFor(path)[3]).toMatchObject({ status: 206, ifRange: `"${sha256(fullFile)}"` });
    expect(dl.bytesReceived).toBe(fullFile.length);
  });

  it('survives several cuts in a row as long as bytes keep coming', async () => {
    const path = serve(fullFile);
    const cuts = [1, 2, 3, 4, 5, 6].map((n) => payloadOffset + n * 50_000);
    const dl = downloader(fullPkg, { retries: 1, faults: { cutAt: cuts } });
    expect(await dl.download(server.url(path))).toMatchObject({ ok: true });
    expect(server.requestsFor(path).map((r) => r.range).slice(3)).toEqual(cuts.map((c) => `bytes=${c}-`));
  });

  it('asks in pieces of requestBytes when told to', async () => {
    const path = serve(fullFile);
    const dl = downloader(fullPkg, { requestBytes: 100_000 });
    expect(await dl.download(server.url(path))).toMatchObject({ ok: true });
    const ranges = server.requestsFor(path).map((r) => r.range).slice(2);
    expect(ranges[0]).toBe(`bytes=${payloadOffset}-${payloadOffset + 99_999}`);
    expect(ranges.at(-1)).toBe(`bytes=${payloadOffset + (ranges.length - 1) * 100_000}-${fullFile.length - 1}`);
    expect((await readFile(dl.partPath)).equals(fullFile)).toBe(true);
  });

  it('catches a byte corrupted in transit by its chunk hash and fetches that chunk once more, alone', async () => {
    const path = serve(fullFile);
    const dl = downloader(fullPkg, { faults: { corrupt: [{ offset: payloadOffset + 7 * 4096 + 100 }] } });
    expect(await dl.download(server.url(path))).toMatchObject({ ok: true });
    expect((await readFile(dl.partPath)).equals(fullFile)).toBe(true);
    expect(server.requestsFor(path).map((r) => r.range).slice(2)).toEqual([`bytes=${payloadOffset}-`, rangeOfChunk(7)]);
    expect(server.requestsFor(path)[3]).toMatchObject({ status: 206, ifRange: `"${sha256(fullFile)}"` });
    expect(dl.bytesReceived).toBe(fullFile.length + 4096);
  });

  it('fetches each of two bad chunks again, and only those', async () => {
    const path = serve(fullFile);
    const dl = downloader(fullPkg, { faults: { corrupt: [{ offset: payloadOffset + 3 * 4096 }, { offset: payloadOffset + 40 * 4096 + 4095 }] } });
    expect(await dl.download(server.url(path))).toMatchObject({ ok: true });
    expect(server.requestsFor(path).map((r) => r.range).slice(3)).toEqual([rangeOfChunk(3), rangeOfChunk(40)]);
  });

  it('gives up with 402 after the same chunk fails 1 + 3 times, and keeps nothing', async () => {
    const damaged = Buffer.from(fullFile);
    const at = payloadOffset + 12 * 4096 + 5;
    damaged[at] = (damaged[at] ?? 0) ^ 1;
    const path = serve(damaged);
    const dl = downloader(fullPkg);
    const got = await dl.download(server.url(path));
    expect(got).toEqual({ ok: false, resultCode: 402, reason: expect.stringContaining('chunk 13 of 98 failed its hash check 4 times') });
    expect(server.requestsFor(path).map((r) => r.range).slice(3)).toEqual([rangeOfChunk(12), rangeOfChunk(12), rangeOfChunk(12)]);
    await expect(access(dl.partPath)).rejects.toThrow();
    expect(await dl.completed()).toBeUndefined();
  });

  it('starts over when the file changed on the server (If-Range answered with the whole file)', async () => {
    const path = serve(fullFile);
    const dir = join(tempDir(), 'download');
    const controller = new AbortController();
    const first = downloader(fullPkg, { dir, signal: controller.signal, onProgress: ({ received }) => received > payloadOffset + 100_000 && controller.abort() });
    await expect(first.download(server.url(path))).rejects.toThrow();
    // The manufacturer replaced the package at that URL (a new ETag).
    const replacement = await readFile(otherPkg.packagePath);
    server.files.set(path, replacement);
    const second = downloader(otherPkg, { dir, trust: { keys: [fullPkg.key, otherPkg.key] } });
    expect(await second.download(server.url(path))).toMatchObject({ ok: true });
    expect((await readFile(second.partPath)).equals(replacement)).toBe(true);
    const log = server.requestsFor(path).slice(3);
    // The resume asked with the old ETag, got 200, dropped it, and fetched the new file from the start.
    expect(log[0]).toMatchObject({ ifRange: `"${sha256(fullFile)}"`, status: 200 });
    expect(log[1]).toMatchObject({ range: `bytes=0-${HEADER_PROBE_BYTES - 1}`, status: 206 });
  });

  it('continues across instances: a new downloader on the same dir resumes from the partial file', async () => {
    const path = serve(fullFile);
    const dir = join(tempDir(), 'download');
    const controller = new AbortController();
    const first = downloader(fullPkg, { dir, signal: controller.signal, onProgress: ({ received }) => received > payloadOffset + 200_000 && controller.abort() });
    await expect(first.download(server.url(path))).rejects.toThrow();
    const had = first.bytesReceived;
    expect(had).toBeGreaterThan(payloadOffset + 200_000);
    expect(had).toBeLessThan(fullFile.length);

    const second = downloader(fullPkg, { dir });
    expect(await second.download(server.url(path))).toMatchObject({ ok: true });
    expect((await readFile(second.partPath)).equals(fullFile)).toBe(true);
    // No second probe: the header on disk was checked again, and the payload continued.
    const after = server.requestsFor(path).slice(first.requests.length);
    expect(after.map((r) => r.range)).toEqual([`bytes=${had}-`]);
    expect(after[0]).toMatchObject({ status: 206, ifRange: `"${sha256(fullFile)}"` });
    expect(second.bytesReceived).toBe(fullFile.length - had);
  });

  it('uses a complete package on disk only if the URL still serves that file', async () => {
    const path = serve(fullFile);
    const dir = join(tempDir(), 'download');
    expect(await downloader(fullPkg, { dir }).download(server.url(path))).toMatchObject({ ok: true });
    const again = downloader(fullPkg, { dir });
    expect(await again.download(server.url(path))).toMatchObject({ ok: true });
    expect(again.requests.map((r) => r.range)).toEqual([`bytes=${fullFile.length - 1}-${fullFile.length - 1}`]);
    // Another package behind the URL now: the old one is dropped and the new one fetched.
    const replacement = await readFile(otherPkg.packagePath);
    server.files.set(path, replacement);
    const other = downloader(otherPkg, { dir, trust: { keys: [fullPkg.key, otherPkg.key] } });
    expect(await other.download(server.url(path))).toMatchObject({ ok: true, manifest: { target: { size: 300_000 + 300 } } });
    expect((await readFile(other.partPath)).equals(replacement)).toBe(true);
    expect(other.requests[0]).toMatchObject({ status: 200 });
  });

  it('checks a partial file again when resuming, and fetches again a chunk damaged on disk', async () => {
    const path = serve(fullFile);
    const dir = join(tempDir(), 'download');
    const controller = new AbortController();
    const first = downloader(fullPkg, { dir, signal: controller.signal, onProgress: ({ received }) => received > payloadOffset + 200_000 && controller.abort() });
    await expect(first.download(server.url(path))).rejects.toThrow();
    const { open } = await import('node:fs/promises');
    const handle = await open(first.partPath, 'r+');
    await handle.write(Buffer.from([0xee]), 0, 1, payloadOffset + 2 * 4096 + 1);
    await handle.close();
    const second = downloader(fullPkg, { dir });
    expect(await second.download(server.url(path))).toMatchObject({ ok: true });
    expect((await readFile(second.partPath)).equals(fullFile)).toBe(true);
    expect(second.requests.map((r) => r.range)).toEqual([`bytes=${first.bytesReceived}-`, rangeOfChunk(2)]);
  });

  describe('refuses before it asks for any payload', () => {
    const cases: Array<[string, Partial<DownloaderOptions> & { facts?: DeviceFacts }, number]> = [
      ['404: no pinned key signed it', { trust: { keys: [generateKey()] } }, 404],
      ['403: another model', { facts: { model: 'toaster' } }, 403],
      ['405: security version below the device', { facts: { model: 'router-x', securityVersion: 9 } }, 405],
    ];
    it.each(cases)('%s', async (_name, options, code) => {
      const path = serve(fullFile);
      const got = await downloader(fullPkg, options).download(server.url(path));
      expect(got).toMatchObject({ ok: false, resultCode: code });
      // The probe and the rest of the envelope, nothing of the payload.
      expect(server.requestsFor(path).map((r) => r.range)).toEqual([`bytes=0-${HEADER_PROBE_BYTES - 1}`, `bytes=${HEADER_PROBE_BYTES}-${payloadOffset - 1}`]);
    });

    it('403: a delta for an image other than the one the device runs', async () => {
      const path = serve(await readFile(deltaPkg.packagePath));
      const got = await downloader(deltaPkg, { facts: { model: 'router-x', currentSha256: sha256(Buffer.from('not the base')) } }).download(server.url(path));
      expect(got).toMatchObject({ ok: false, resultCode: 403, reason: expect.stringContaining('patches version 1.0') });
      expect(server.requestsFor(path)).toHaveLength(1);
    });

    it('402: not a .fota file', async () => {
      const path = serve(Buffer.from('<html>hello</html>'));
      expect(await downloader(fullPkg).download(server.url(path))).toMatchObject({ ok: false, resultCode: 402 });
    });
  });

  describe('download failures as FUMO result codes', () => {
    it('411 for a URL it cannot fetch', async () => {
      expect(await downloader(fullPkg).download('ftp://example.com/p.fota')).toMatchObject({ ok: false, resultCode: 411 });
      expect(await downloader(fullPkg).download('not a url')).toMatchObject({ ok: false, resultCode: 411 });
    });

    it('412 when the server refuses (4xx)', async () => {
      expect(await downloader(fullPkg).download(server.url('/missing.fota'))).toMatchObject({ ok: false, resultCode: 412, reason: expect.stringContaining('HTTP 404') });
    });

    it('retries a 503 and succeeds when the server comes back', async () => {
      const path = serve(fullFile);
      server.failures.set(path, [503, 503]);
      const dl = downloader(fullPkg, { retries: 3 });
      expect(await dl.download(server.url(path))).toMatchObject({ ok: true });
      expect(server.requestsFor(path).map((r) => r.status).slice(0, 3)).toEqual([503, 503, 206]);
    });

    it("waits as long as a 503's Retry-After asks when that is longer than its backoff, up to 30 s", async () => {
      const pauses = async (retryAfter: string) => {
        const path = serve(fullFile);
        server.failures.set(path, [503]);
        server.failureHeaders.set(path, { 'retry-after': retryAfter });
        // Not waited out: the pause it chose is in its log line, and there it is stopped.
        const controller = new AbortController();
        let said: string | undefined;
        const log = (line: string) => {
          if (!line.includes('retrying in')) return;
          said = line;
          controller.abort();
        };
        await downloader(fullPkg, { retries: 3, retryDelayMs: 10, log, signal: controller.signal })
          .download(server.url(path))
          .catch(() => undefined);
        return said;
      };
      expect(await pauses('2')).toMatch(/HTTP 503; retrying in 2000 ms, as it asked/);
      expect(await pauses('3600')).toMatch(/retrying in 30000 ms, as it asked/);
      // Not a number of seconds (an HTTP date, or junk): the backoff alone.
      expect(await pauses('Wed, 21 Oct 2026 07:28:00 GMT')).toMatch(/retrying in 10 ms$/);
      expect(await pauses('-5')).toMatch(/retrying in 10 ms$/);
    });

    it('waits out a busy server (503 with Retry-After) beyond its retries, for busyWaitMs in all', async () => {
      const busy = serve(fullFile);
      server.failures.set(busy, [503, 503, 503, 503, 503]);
      server.failureHeaders.set(busy, { 'retry-after': '0' });
      const lines: string[] = [];
      const got = await downloader(fullPkg, { retries: 2, retryDelayMs: 10, log: (line) => lines.push(line) }).download(server.url(busy));
      expect(got).toMatchObject({ ok: true });
      expect(server.requestsFor(busy).map((r) => r.status).slice(0, 6)).toEqual([503, 503, 503, 503, 503, 206]);
      expect(lines.filter((line) => line.includes('as it asked'))).toHaveLength(5);

      // Past its budget, a busy answer counts as any 503: `retries` more, then 412.
      const full = serve(fullFile);
      server.failures.set(full, Array.from({ length: 10 }, () => 503));
      server.failureHeaders.set(full, { 'retry-after': '0' });
      const refused = await downloader(fullPkg, { retries: 2, retryDelayMs: 10, busyWaitMs: 30 }).download(server.url(full));
      expect(refused).toMatchObject({ ok: false, resultCode: 412, reason: expect.stringContaining('HTTP 503') });
      // Three waits of 10 ms use the 30 ms; the next three 503s are failures, the last past `retries`.
      expect(server.requestsFor(full).map((r) => r.status)).toEqual([503, 503, 503, 503, 503, 503]);
    });

    it('412 when the server stays unavailable (503), 500 when it keeps failing (5xx)', async () => {
      const unavailable = serve(fullFile);
      server.failures.set(unavailable, [503, 503, 503]);
      expect(await downloader(fullPkg, { retries: 2 }).download(server.url(unavailable))).toMatchObject({ ok: false, resultCode: 412 });
      const broken = serve(fullFile);
      server.failures.set(broken, [500, 502, 500]);
      expect(await downloader(fullPkg, { retries: 2 }).download(server.url(broken))).toMatchObject({ ok: false, resultCode: 500 });
    });

    it('503 when the connection keeps failing, keeping what it has for the next attempt', async () => {
      const path = serve(fullFile);
      const dir = join(tempDir(), 'download');
      const cutAt = payloadOffset + 100_000;
      // Bytes stop coming: cut at the same offset again and again (the link is down).
      const dl = downloader(fullPkg, { dir, retries: 2, faults: { cutAt: [cutAt, cutAt, cutAt] } });
      const got = await dl.download(server.url(path));
      expect(got).toMatchObject({ ok: false, resultCode: 503 });
      const retry = downloader(fullPkg, { dir });
      expect(await retry.download(server.url(path))).toMatchObject({ ok: true });
      expect(retry.requests[0]?.range).toBe(`bytes=${cutAt}-`);
    });

    it('412 from a server that ignores Range, unless the whole package fits the first read', async () => {
      const large = serve(fullFile);
      server.noRanges.add(large);
      expect(await downloader(fullPkg).download(server.url(large))).toMatchObject({ ok: false, resultCode: 412, reason: expect.stringContaining('ignores byte ranges') });
      const small = serve(await readFile(deltaPkg.packagePath));
      server.noRanges.add(small);
      expect(await downloader(deltaPkg).download(server.url(small))).toMatchObject({ ok: true });
    });

    it('503 when nothing listens', async () => {
      const closed = new FileServer();
      await closed.start();
      const url = closed.url('/x.fota');
      await closed.close();
      expect(await downloader(fullPkg, { retries: 1 }).download(url)).toMatchObject({ ok: false, resultCode: 503 });
    });
  });
});
