// The per-campaign bandwidth budget: the token bucket's schedule on a stand-in clock
// (exact, no wall clock), and through a real server: a campaign's downloads together get
// no more than its budget allows, still arrive whole, and a campaign without a budget is
// not paced. (The rate under 200 resuming clients is measured by bench/bandwidth.ts.)
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { DOWNLOAD_KEY_PURPOSE, issueDownloadToken } from '../../src/deployments/download-grant.ts';
import { type BucketClock, TokenBucket } from '../../src/download/budget.ts';
import { pseudoRandom } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { selectRows } from '../support/sql.ts';

/** A clock that moves only when someone sleeps: the bucket's waits, summed, are the time. */
function steppedClock(): BucketClock & { waits: number[] } {
  let now = 0;
  const waits: number[] = [];
  return {
    waits,
    now: () => now,
    async sleep(ms) {
      waits.push(ms);
      now = Math.max(now, ms + now);
    },
  };
}

describe('TokenBucket', () => {
  it('lets a burst through at once, then paces bytes at the rate', async () => {
    const clock = steppedClock();
    const bucket = new TokenBucket(1000, 100, clock);
    await bucket.take(100);
    expect(clock.waits).toEqual([]);
    await bucket.take(500);
    expect(clock.waits).toEqual([500]);
    await bucket.take(250);
    expect(clock.waits).toEqual([500, 250]);
  });

  it('serves concurrent takers in the order they asked, the total at the rate', async () => {
    let now = 0;
    const waits: number[] = [];
    const bucket = new TokenBucket(1000, 0.001, { now: () => now, sleep: async (ms) => void waits.push(ms) });
    await Promise.all(Array.from({ length: 10 }, () => bucket.take(100)));
    // Ten takers of 100 bytes at 1000 B/s: the last may go at 1 s, each 100 ms after the one before.
    expect(waits.map((w) => Math.round(w))).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    now = 5000;
    // Idle for long: the bucket fills, but only to its burst.
    waits.length = 0;
    await bucket.take(100);
    expect(Math.round(waits[0] ?? 0)).toBe(100);
  });
});

describe('TokenBucket refunds', () => {
  it('gives back bytes reserved for a download that left, so later reservations move up', async () => {
    let now = 0;
    const waits: number[] = [];
    const bucket = new TokenBucket(1000, 0.001, { now: () => now, sleep: async (ms) => void waits.push(ms) });
    await bucket.take(500);
    bucket.refund(500);
    await bucket.take(100);
    expect(waits.map((w) => Math.round(w))).toEqual([500, 100]);
  });
});

describe('campaign bandwidth budget over HTTP', () => {
  const MODEL = 'budget-model';
  let server: TestServer;
  let image: Buffer;
  let buildId: string;
  beforeAll(async () => {
    server = await startTestServer();
    image = pseudoRandom(600_000, 'budget-image');
    buildId = (await server.upload(MODEL, '2.0', image)).id;
  });

  const post = (path: string, body: unknown) => server.api(path, { method: 'POST', token: server.tokens.operator, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

  /** A started campaign over `n` new devices; the download URLs of their deployments. */
  async function campaignUrls(tag: string, n: number, extra: Record<string, unknown>): Promise<{ id: string; urls: string[] }> {
    for (let i = 0; i < n; i++) {
      const id = `${tag}-${i}`;
      expect((await post('/api/v1/devices', { id, model: MODEL, firmwareVersion: '1.0', tags: [tag], credentials: { username: id, password: 'device-password' } })).status).toBe(201);
    }
    const res = await post('/api/v1/campaigns', { name: tag, buildId, cohort: { tags: [tag] }, stages: [{ percent: 100 }], ...extra });
    expect(res.status, await res.clone().text()).toBe(201);
    const { id } = (await res.json()) as { id: string };
    expect((await post(`/api/v1/campaigns/${id}/start`, {})).status).toBe(200);
    const rows = (await selectRows(server.ctx.db, `select id, device_id from deployments where campaign_id = '${id}'`)) as Array<{ id: string; device_id: string }>;
    // A package is chosen when a device is commanded; these downloads take the full image, as a device on an unknown base would.
    const [full] = (await selectRows(server.ctx.db, `select id from packages where build_id = '${buildId}' and kind = 'full'`)) as Array<{ id: string }>;
    const key = server.ctx.vault.deriveKey(DOWNLOAD_KEY_PURPOSE);
    const urls = rows.map((r) => `${server.url}/dl/${issueDownloadToken(key, { packageId: full!.id, deploymentId: r.id, deviceId: r.device_id, expiresAt: server.clock.now() + 3_600_000 })}`);
    return { id, urls };
  }

  /** Downloads every URL at once; counts the bytes received within the first `windowMs`, then reads on to the end. */
  async function downloadAll(urls: string[], windowMs: number): Promise<{ early: number; elapsedMs: number; bodies: Buffer[] }> {
    const started = performance.now();
    let early = 0;
    let closedAt = Number.POSITIVE_INFINITY;
    const timer = setTimeout(() => (closedAt = performance.now()), windowMs);
    const bodies = await Promise.all(
      urls.map(async (url) => {
        const res = await fetch(url);
        expect(res.status).toBe(200);
        const chunks: Buffer[] = [];
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          if (performance.now() < closedAt) early += chunk.length;
          chunks.push(Buffer.from(chunk));
        }
        return Buffer.concat(chunks);
      }),
    );
    clearTimeout(timer);
    return { early, elapsedMs: Math.min(closedAt, performance.now()) - started, bodies };
  }

  it("keeps a campaign's downloads together within its budget, and each still arrives whole", async () => {
    const budget = 500_000;
    const { id, urls } = await campaignUrls('budgeted', 3, { bandwidthBytesPerSecond: budget });
    expect(((await (await server.api(`/api/v1/campaigns/${id}`, { token: server.tokens.operator })).json()) as { bandwidthBytesPerSecond: number }).bandwidthBytesPerSecond).toBe(budget);
    const { early, elapsedMs, bodies } = await downloadAll(urls, 1000);
    // An upper bound only (a slow machine sends less, never more): the burst (a tenth of a
    // second, at least a 64 KiB chunk), the rate over the time measured, and one chunk per
    // download that may be in the sockets' buffers as the window closes.
    const allowed = Math.max(65_536, budget / 10) + (budget * elapsedMs) / 1000 + urls.length * 65_536;
    expect(early).toBeLessThanOrEqual(allowed);
    // 3 x ~600 kB at 500 kB/s could not have finished in the window.
    expect(early).toBeLessThan(urls.length * (bodies[0]?.length ?? 0));
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(new Set(bodies.map(sha)).size).toBe(1);
    expect(bodies[0]?.length).toBeGreaterThan(image.length);
  });

  it('does not cut off a download whose chunks the budget holds back longer than the stall limit', async () => {
    // Each 64 KiB chunk waits about 0.4 s for the budget, longer than this stall limit:
    // the limit counts only waits for the client (src/download/stall.ts). Set on this
    // suite's running server, which reads it for each download, and restored after.
    const download = server.ctx.config.download;
    const stallSeconds = download.stallSeconds;
    download.stallSeconds = 0.25;
    try {
      const { urls } = await campaignUrls('held-back', 1, { bandwidthBytesPerSecond: 160_000 });
      const { bodies } = await downloadAll(urls, 1000);
      expect(bodies[0]?.length).toBeGreaterThan(image.length);
    } finally {
      download.stallSeconds = stallSeconds;
    }
  });

  it('changes the budget of a running campaign, and lifts it with null', async () => {
    const { id } = await campaignUrls('rebudget', 1, {});
    const res = await post(`/api/v1/campaigns/${id}/bandwidth`, { bytesPerSecond: 1_000_000 });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { bandwidthBytesPerSecond: number }).bandwidthBytesPerSecond).toBe(1_000_000);
    expect((await post(`/api/v1/campaigns/${id}/bandwidth`, { bytesPerSecond: 10 })).status).toBe(400);
    const lifted = await post(`/api/v1/campaigns/${id}/bandwidth`, { bytesPerSecond: null });
    expect(((await lifted.json()) as { bandwidthBytesPerSecond: number | null }).bandwidthBytesPerSecond).toBeNull();
  });
});
