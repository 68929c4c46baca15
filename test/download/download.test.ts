import { randomBytes } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/server.ts';
import { DOWNLOAD_KEY_PURPOSE, type DownloadGrant, issueDownloadToken } from '../../src/deployments/download-grant.ts';
import { newId } from '../../src/store/ids.ts';
import { BLOCK_BYTES } from '../../src/download/block-cache.ts';
import { WRITE_BYTES } from '../../src/download/source.ts';
import { findDeployment, insertDeployment } from '../../src/store/queries/deployments.ts';
import { insertDevice } from '../../src/store/queries/devices.ts';
import { pseudoRandom } from '../support/harness.ts';
import { metricValue } from '../support/metrics.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

interface Pkg {
  id: string;
  buildId: string;
  size: number;
  sha256: string;
  /** The .fota file as the management API serves it. */
  file: Buffer;
}

let server: TestServer;
let small: Pkg;
let large: Pkg;

async function publish(model: string, image: Buffer): Promise<Pkg> {
  const build = await server.upload(model, '1.0', image);
  const full = build.packages.find((p) => p.kind === 'full');
  if (build.status !== 'ready' || !full) throw new Error(`build ${build.id} is ${build.status}: ${build.failureReason}`);
  const file = Buffer.from(await (await server.api(`/api/v1/packages/${full.id}/file`, { token: server.tokens.operator })).arrayBuffer());
  return { id: full.id, buildId: build.id, size: full.size, sha256: full.sha256, file };
}

beforeAll(async () => {
  server = await startTestServer();
  small = await publish('dl-small', pseudoRandom(200_000, 'dl-small'));
  large = await publish('dl-large', pseudoRandom(3_000_000, 'dl-large'));
});

/** A device with a deployment of `pkg` in state `state`, and a download token for it. */
async function deploy(pkg: Pkg, options: { state?: string; expiresAt?: number; key?: Uint8Array } = {}) {
  const now = Date.now();
  const deviceId = newId('dev');
  const deploymentId = newId('dep');
  await server.ctx.db.transaction(async (tx) => {
    await insertDevice(tx, { id: deviceId, model: 'dl-model', createdAt: now });
    await insertDeployment(tx, { id: deploymentId, deviceId, buildId: pkg.buildId, packageId: pkg.id, state: options.state ?? 'commanded', createdAt: now, updatedAt: now });
  });
  const grant: DownloadGrant = { packageId: pkg.id, deploymentId, deviceId, expiresAt: options.expiresAt ?? now + 3_600_000 };
  const token = issueDownloadToken(options.key ?? server.ctx.vault.deriveKey(DOWNLOAD_KEY_PURPOSE), grant);
  return { deploymentId, token, url: `${server.url}/dl/${token}` };
}

async function deployment(id: string) {
  const row = await findDeployment(server.ctx.db, id);
  if (!row) throw new Error(`no deployment ${id}`);
  return { ...row, history: JSON.parse(row.history) as Array<{ at: string; state: string; cause: string }> };
}

/** Bytes are recorded when the response is over, which the server sees just after the client does. */
async function servedOf(id: string, expected?: number): Promise<number> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const served = (await deployment(id)).bytesServed;
    if ((expected === undefined ? served > 0 : served === expected) || Date.now() > deadline) return served;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function get(url: string, headers: Record<string, string> = {}, method = 'GET') {
  const res = await fetch(url, { method, headers });
  return { res, body: Buffer.from(await res.arrayBuffer()) };
}

describe('GET /dl/<token>: the whole file', () => {
  it('serves the same bytes as the management API, with the resume headers', async () => {
    const { url } = await deploy(small);
    const { res, body } = await get(url);
    expect(res.status).toBe(200);
    expect(body.equals(small.file)).toBe(true);
    expect(small.file.length).toBe(small.size);
    expect(Object.fromEntries(['accept-ranges', 'etag', 'content-type', 'content-length', 'content-range'].map((h) => [h, res.headers.get(h)]))).toEqual({
      'accept-ranges': 'bytes',
      etag: `"${small.sha256}"`,
      'content-type': 'application/octet-stream',
      'content-length': String(small.size),
      'content-range': null,
    });
  });

  it('shows the real status (206, 200) in the request metrics, under the route and not the token', async () => {
    const { url } = await deploy(small);
    await get(url);
    await get(url, { range: 'bytes=0-0' });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metricValue(metrics, 'fota_http_requests_total', { method: 'GET', route: '/dl/:token', status: '206' })).toBeGreaterThan(0);
    expect(metricValue(metrics, 'fota_http_requests_total', { method: 'GET', route: '/dl/:token', status: '200' })).toBeGreaterThan(0);
  });

  it('answers HEAD with the same headers and no body, and records nothing', async () => {
    const { url, deploymentId } = await deploy(small);
    const head = await get(url, {}, 'HEAD');
    const full = await fetch(url, { method: 'HEAD', headers: { range: 'bytes=0-9' } });
    expect(head.res.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.res.headers.get('content-length')).toBe(String(small.size));
    expect(head.res.headers.get('accept-ranges')).toBe('bytes');
    expect(head.res.headers.get('etag')).toBe(`"${small.sha256}"`);
    // Range is defined for GET only (RFC 9110 §14.2): HEAD describes the whole file.
    expect(full.status).toBe(200);
    expect(full.headers.get('content-length')).toBe(String(small.size));
    await new Promise((r) => setTimeout(r, 100));
    expect(await deployment(deploymentId)).toMatchObject({ bytesServed: 0, state: 'commanded' });
  });
});

describe('GET /dl/<token>: ranges', () => {
  const size = () => small.size;
  it.each<[string, () => [number, number]]>([
    ['bytes=0-99', () => [0, 99]],
    ['bytes=100-', () => [100, size() - 1]],
    ['bytes=-100', () => [size() - 100, size() - 1]],
    [`last byte`, () => [size() - 1, size() - 1]],
    ['end past the size (clamped)', () => [50, size() - 1]],
  ])('%s -> 206 with exactly those bytes', async (label, bounds) => {
    const [start, end] = bounds();
    const header = label === 'last byte' ? `bytes=${start}-${end}` : label.startsWith('end past') ? `bytes=${start}-${size() + 10_000}` : label;
    const { url } = await deploy(small);
    const { res, body } = await get(url, { range: header });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${size()}`);
    expect(res.headers.get('content-length')).toBe(String(end - start + 1));
    expect(res.headers.get('etag')).toBe(`"${small.sha256}"`);
    expect(body.equals(small.file.subarray(start, end + 1))).toBe(true);
  });

  it.each(['bytes=S-', 'bytes=S-S0'])('refuses a range starting past the end (%s) with 416 and the size', async (template) => {
    const { url, deploymentId } = await deploy(small);
    const { res } = await get(url, { range: template.replaceAll('S', String(small.size)) });
    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBe(`bytes */${small.size}`);
    await new Promise((r) => setTimeout(r, 100));
    expect((await deployment(deploymentId)).bytesServed).toBe(0);
  });

  it.each(['bytes=abc', 'bytes=5-3', 'pages=0-1', 'bytes 0-99'])('ignores a malformed Range (%s) and serves the whole file', async (range) => {
    const { url } = await deploy(small);
    const { res, body } = await get(url, { range });
    expect(res.status).toBe(200);
    expect(body.equals(small.file)).toBe(true);
  });

  it('serves the whole file with 200 for several ranges', async () => {
    const { url } = await deploy(small);
    const { res, body } = await get(url, { range: 'bytes=0-1,5-6' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-range')).toBeNull();
    expect(body.equals(small.file)).toBe(true);
  });

  it('honours Range when If-Range carries the current strong ETag', async () => {
    const { url } = await deploy(small);
    const { res, body } = await get(url, { range: 'bytes=10-19', 'if-range': `"${small.sha256}"` });
    expect(res.status).toBe(206);
    expect(body.equals(small.file.subarray(10, 20))).toBe(true);
  });

  it.each([
    ['another ETag', `"${'0'.repeat(64)}"`],
    ['a weak ETag', 'W/"SHA"'],
    ['a date', 'Wed, 21 Oct 2015 07:28:00 GMT'],
  ])('serves the whole file with 200 when If-Range carries %s', async (_, value) => {
    const { url } = await deploy(small);
    const { res, body } = await get(url, { range: 'bytes=10-19', 'if-range': value.replace('SHA', small.sha256) });
    expect(res.status).toBe(200);
    expect(body.equals(small.file)).toBe(true);
  });
});

describe('GET /dl/<token>: refusals', () => {
  it('refuses an expired token with 403 and records nothing', async () => {
    const { url, deploymentId } = await deploy(small, { expiresAt: Date.now() - 1 });
    const { res, body } = await get(url);
    expect(res.status).toBe(403);
    expect(body.toString()).toMatch(/expired/);
    expect(body.length).toBeLessThan(200);
    await new Promise((r) => setTimeout(r, 100));
    expect(await deployment(deploymentId)).toMatchObject({ bytesServed: 0, state: 'commanded' });
  });

  it('refuses a token with a flipped character with 403', async () => {
    const { token } = await deploy(small);
    for (const at of [3, token.indexOf('.') + 5, token.length - 1]) {
      const c = token[at];
      const forged = `${token.slice(0, at)}${c === 'x' ? 'y' : 'x'}${token.slice(at + 1)}`;
      const { res, body } = await get(`${server.url}/dl/${forged}`);
      expect(res.status, `flipped at ${at}`).toBe(403);
      expect(body.length).toBeLessThan(200);
    }
  });

  it('refuses a token signed with another key with 403', async () => {
    const { url, deploymentId } = await deploy(small, { key: new Uint8Array(randomBytes(32)) });
    expect((await get(url)).res.status).toBe(403);
    expect((await get(url, {}, 'HEAD')).res.status).toBe(403);
    await new Promise((r) => setTimeout(r, 100));
    expect((await deployment(deploymentId)).bytesServed).toBe(0);
  });

  it.each(['garbage', 'a.b.c', 'x'.repeat(2000), '%00..%2F'])('refuses a malformed token (%s) with 403', async (token) => {
    const { res } = await get(`${server.url}/dl/${token.slice(0, 2000)}`);
    expect(res.status).toBe(403);
  });

  it('answers 404 when the package file is gone from the artifact store', async () => {
    const gone = await publish('dl-gone', pseudoRandom(5_000, 'dl-gone'));
    await server.ctx.artifacts.delete(gone.sha256);
    const { url, deploymentId } = await deploy(gone);
    expect((await get(url)).res.status).toBe(404);
    expect((await deployment(deploymentId)).bytesServed).toBe(0);
  });

  it('answers 404 for a package that does not exist', async () => {
    const token = issueDownloadToken(server.ctx.vault.deriveKey(DOWNLOAD_KEY_PURPOSE), {
      packageId: 'pkg_gone',
      deploymentId: 'dep_none',
      deviceId: 'dev_none',
      expiresAt: Date.now() + 60_000,
    });
    const { res } = await get(`${server.url}/dl/${token}`);
    expect(res.status).toBe(404);
  });
});

describe('GET /dl/<token>: bytes served', () => {
  it('adds a whole download to bytes served and moves commanded to downloading once', async () => {
    const { url, deploymentId } = await deploy(small);
    await get(url);
    expect(await servedOf(deploymentId, small.size)).toBe(small.size);
    await get(url, { range: 'bytes=0-99' });
    expect(await servedOf(deploymentId, small.size + 100)).toBe(small.size + 100);
    const row = await deployment(deploymentId);
    expect(row.state).toBe('downloading');
    expect(row.history).toEqual([{ at: expect.any(String), state: 'downloading', cause: 'first bytes served' }]);
    expect(Number.isNaN(Date.parse(row.history[0]?.at ?? ''))).toBe(false);
  });

  it('adds the length of a 206 and moves a scheduled deployment to downloading', async () => {
    const { url, deploymentId } = await deploy(small, { state: 'scheduled' });
    await get(url, { range: 'bytes=-100' });
    expect(await servedOf(deploymentId, 100)).toBe(100);
    expect((await deployment(deploymentId)).state).toBe('downloading');
  });

  it('counts but leaves the state of a deployment already past downloading', async () => {
    const { url, deploymentId } = await deploy(small, { state: 'installing' });
    await get(url, { range: 'bytes=0-9' });
    expect(await servedOf(deploymentId, 10)).toBe(10);
    expect(await deployment(deploymentId)).toMatchObject({ state: 'installing', history: [] });
  });

  it('counts only what was sent to a client that hangs up mid-body', async () => {
    const { url, deploymentId } = await deploy(large);
    const received = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(url, (res) => {
        expect(res.statusCode).toBe(200);
        res.once('data', (chunk: Buffer) => {
          req.destroy();
          resolve(chunk.length);
        });
      });
      req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
      req.end();
    });
    const served = await servedOf(deploymentId);
    expect(served).toBeGreaterThanOrEqual(received);
    expect(served).toBeLessThan(large.size);
    expect((await deployment(deploymentId)).state).toBe('downloading');
  });
});

/** GET on a keep-alive agent: status, the body and whether the connection was a reused one. */
function getOn(agent: Agent, url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), reused: req.reusedSocket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('GET /dl/<token>: ranges where the server splits its writes', () => {
  it('serves ranges that start or end at a write or block boundary exactly, one after another on one connection, and counts each', async () => {
    // The large package spans three 1 MiB blocks, each sent in writes of WRITE_BYTES.
    expect(large.size).toBeGreaterThan(2 * BLOCK_BYTES + WRITE_BYTES);
    const { url, deploymentId } = await deploy(large);
    const ranges: Array<[number, number]> = [
      [0, WRITE_BYTES - 1],
      [WRITE_BYTES - 1, WRITE_BYTES],
      [WRITE_BYTES, 2 * WRITE_BYTES - 1],
      [BLOCK_BYTES - 1, BLOCK_BYTES],
      [BLOCK_BYTES - WRITE_BYTES, BLOCK_BYTES + WRITE_BYTES - 1],
      [BLOCK_BYTES, 2 * BLOCK_BYTES - 1],
      [BLOCK_BYTES - 5, 2 * BLOCK_BYTES + 5],
      [2 * BLOCK_BYTES, large.size - 1],
      [large.size - 1, large.size - 1],
    ];
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      let counted = 0;
      for (const [index, [start, end]] of ranges.entries()) {
        const got = await getOn(agent, url, { range: `bytes=${start}-${end}` });
        expect(got.status).toBe(206);
        expect(got.body.equals(large.file.subarray(start, end + 1)), `bytes ${start}-${end}`).toBe(true);
        // Every response ended where its Content-Length said, so the next one could follow on the same connection.
        if (index > 0) expect(got.reused).toBe(true);
        counted += end - start + 1;
      }
      const whole = await getOn(agent, url);
      expect(whole.status).toBe(200);
      expect(whole.body.equals(large.file)).toBe(true);
      expect(whole.reused).toBe(true);
      counted += large.size;
      expect(await servedOf(deploymentId, counted)).toBe(counted);
    } finally {
      agent.destroy();
    }
  });

  it('counts no more than the file for a client that stops reading and hangs up, and serves the next client whole', async () => {
    const { url, deploymentId } = await deploy(large);
    // Takes the head and a few bytes, then leaves the rest unread for a while (the server's
    // writes wait on the socket, or sit in the kernel's buffers) before hanging up.
    const received = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(url, (res) => {
        expect(res.statusCode).toBe(200);
        res.once('data', (chunk: Buffer) => {
          res.pause();
          setTimeout(() => {
            req.destroy();
            resolve(chunk.length);
          }, 200);
        });
      });
      req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
      req.end();
    });
    const served = await servedOf(deploymentId);
    expect(served).toBeGreaterThanOrEqual(received);
    // The socket's buffers on loopback may have taken the whole file before the hang-up:
    // counted then, and never more than that.
    expect(served).toBeLessThanOrEqual(large.size);
    // Nothing more is counted later for the broken-off response.
    await new Promise((r) => setTimeout(r, 200));
    expect((await deployment(deploymentId)).bytesServed).toBe(served);
    const next = await deploy(large);
    const { res, body } = await get(next.url);
    expect(res.status).toBe(200);
    expect(body.equals(large.file)).toBe(true);
    expect(await servedOf(next.deploymentId, large.size)).toBe(large.size);
  });
});

describe('GET /dl/<token> without Node\'s response (app.request, other runtimes)', () => {
  it('serves the same bytes, ranges and counts through a web stream', async () => {
    const app = await createApp(server.ctx);
    const { token, deploymentId } = await deploy(small);
    const whole = await app.request(`/dl/${token}`);
    expect(whole.status).toBe(200);
    expect(Buffer.from(await whole.arrayBuffer()).equals(small.file)).toBe(true);
    const part = await app.request(`/dl/${token}`, { headers: { range: 'bytes=-10' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes ${small.size - 10}-${small.size - 1}/${small.size}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(small.file.subarray(-10))).toBe(true);
    expect(await servedOf(deploymentId, small.size + 10)).toBe(small.size + 10);
  });

  it('counts the chunks a reader went on from, not the one it cancelled on', async () => {
    const { token, deploymentId } = await deploy(large);
    const res = await (await createApp(server.ctx)).request(`/dl/${token}`);
    const reader = res.body?.getReader();
    const first = await reader?.read();
    await reader?.read();
    await reader?.cancel();
    // Recorded as the cancel runs (a transaction, which on PostgreSQL takes round trips).
    await vi.waitFor(async () => expect((await deployment(deploymentId)).bytesServed).toBe(first?.value?.length));
    expect(first?.value?.length).toBeLessThan(large.size);
  });
});
