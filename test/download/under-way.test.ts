// The limit on one deployment's downloads under way at once (src/download/under-way.ts),
// through real HTTP, as the holder of a download link would try it: connections that
// take no bytes, a second link of the same deployment, HEAD, another deployment's link;
// and every way a download ends gives its place back (read whole, hung up, cut off for
// stalling, refused with 404), on both ways bytes go out (sendfile and copied).
import { unlink } from 'node:fs/promises';
import { type ClientRequest, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { DOWNLOAD_KEY_PURPOSE, issueDownloadToken } from '../../src/deployments/download-grant.ts';
import { DownloadsUnderWay } from '../../src/download/under-way.ts';
import { deploy, get, publish, servedOf } from '../support/downloads.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const LIMIT = 2;

/** Larger than loopback's socket buffers take from a reader that reads nothing. */
const HUGE = 24_000_000;

/** A download whose client reads nothing after the head: it holds its connection. */
function holdOpen(url: string): Promise<{ status: number; request: ClientRequest }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, (res) => {
      res.pause();
      resolve({ status: res.statusCode ?? 0, request });
    });
    request.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
    request.end();
  });
}

/** GETs `url` until it is not refused for the limit (or 5 s have passed); the last answer. */
async function getOnceAPlaceFrees(url: string) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const answer = await get(url);
    if (answer.res.status !== 503 || Date.now() > deadline) return answer;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each([
  { mode: 'sendfile', sendfile: true },
  { mode: 'copied through JavaScript', sendfile: false },
])('downloads under way per deployment ($mode)', ({ sendfile }) => {
  let server: TestServer;
  let small: Awaited<ReturnType<typeof publish>>;
  let huge: Awaited<ReturnType<typeof publish>>;

  beforeAll(async () => {
    const defaults = loadConfig({});
    server = await startTestServer({ download: { ...defaults.download, sendfile, maxPerDeployment: LIMIT } });
    small = await publish(server, `uw-small-${String(sendfile)}`, 300_000);
    huge = await publish(server, `uw-huge-${String(sendfile)}`, HUGE);
  });

  it('refuses one download too many of a deployment with 503 and Retry-After, from any of its links, and serves it once a place frees', async () => {
    const link = await deploy(server, huge);
    // Another session's link to the same deployment: the places are the deployment's.
    const grant = { packageId: huge.id, deploymentId: link.deploymentId, deviceId: 'dev-any', expiresAt: server.clock.now() + 7_200_000 };
    const second = `${server.url}/dl/${issueDownloadToken(server.ctx.vault.deriveKey(DOWNLOAD_KEY_PURPOSE), grant)}`;
    const held = [await holdOpen(link.url), await holdOpen(second)];
    expect(held.map((h) => h.status)).toEqual([200, 200]);

    for (const url of [link.url, second]) {
      const { res, body } = await get(url, { range: 'bytes=0-99' });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(body.toString()).toBe(`this deployment already has ${LIMIT} downloads under way, the most it may have at once; try again once one has ended\n`);
    }
    // HEAD sends no bytes and holds nothing: still answered.
    expect((await fetch(link.url, { method: 'HEAD' })).status).toBe(200);
    // Another deployment (another device) is not held back by this one's downloads.
    const other = await deploy(server, small);
    const { res, body } = await get(other.url);
    expect(res.status).toBe(200);
    expect(body.length).toBe(small.size);

    // A client hangs up: its place is given back.
    held[0]?.request.destroy();
    const after = await getOnceAPlaceFrees(link.url);
    expect(after.res.status).toBe(200);
    expect(after.body.length).toBe(huge.size);
    held[1]?.request.destroy();
  });

  it('gives the place back when a download ends: many one after another never run into the limit', async () => {
    const link = await deploy(server, small);
    for (let i = 0; i < 3 * LIMIT; i += 1) {
      const { res, body } = await get(link.url);
      expect(res.status).toBe(200);
      expect(body.length).toBe(small.size);
    }
    expect(await servedOf(server, link.deploymentId, 3 * LIMIT * small.size)).toBe(3 * LIMIT * small.size);
  });

  it('gives the place back when a download is cut off for stalling', async () => {
    // Set on this suite's running server, which reads it for each download, and restored after.
    const download = server.ctx.config.download;
    const stallSeconds = download.stallSeconds;
    download.stallSeconds = 0.3;
    try {
      const link = await deploy(server, huge);
      const held = await Promise.all(Array.from({ length: LIMIT }, () => holdOpen(link.url)));
      expect(held.map((h) => h.status)).toEqual(Array(LIMIT).fill(200));
      // Neither client reads: both are cut off, and the next download is served whole.
      const after = await getOnceAPlaceFrees(link.url);
      expect(after.res.status).toBe(200);
      expect(after.body.length).toBe(huge.size);
      for (const h of held) h.request.destroy();
    } finally {
      download.stallSeconds = stallSeconds;
    }
  });

  it('gives the place back when the package file is gone (404)', async () => {
    const gone = await publish(server, `uw-gone-${String(sendfile)}`, 100_000);
    await unlink(join(server.ctx.config.artifactsDir, gone.sha256.slice(0, 2), gone.sha256));
    const link = await deploy(server, gone);
    // More than the limit, one after another: each 404 held a place only while it was decided.
    for (let i = 0; i <= LIMIT; i += 1) expect((await get(link.url)).res.status).toBe(404);
  });
});

describe('the count of downloads under way', () => {
  it('counts each deployment apart, gives a place back once however often it is called, and keeps nothing once all have ended', () => {
    const underWay = new DownloadsUnderWay();
    const first = underWay.take('dep-a', 2);
    const second = underWay.take('dep-a', 2);
    expect(underWay.take('dep-a', 2)).toBeUndefined();
    const other = underWay.take('dep-b', 2);
    expect(underWay.of('dep-a')).toBe(2);
    first?.();
    first?.();
    expect(underWay.of('dep-a')).toBe(1);
    const third = underWay.take('dep-a', 2);
    expect(third).toBeDefined();
    for (const release of [second, third, other]) release?.();
    expect(underWay.of('dep-a')).toBe(0);
    expect(underWay.size).toBe(0);
  });
});
