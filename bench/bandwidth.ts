// Bandwidth budget benchmark: one campaign with a download budget (default 8,000,000
// bytes/s, a 64 Mbit/s carrier link) and CLIENTS devices (default 200) downloading its
// ~4 MB full package at once, each as a flaky device does: it takes a random stretch
// (64 KiB to 1 MiB), is cut off, and resumes with `Range: bytes=N-` from where it stopped
// (from 0 again once it has the whole file). Prints one JSON object: the budget, the
// bytes per second the clients received over the measured window (after a warm-up),
// their ratio to the budget, and whether it is within 10% (the goal); the requests made
// and the longest a single client waited between two chunks.
// Server and clients share one process (the server in-process on loopback, as
// `fota serve` runs it); the load average is printed because other work slows clients,
// which can only lower the rate, never raise it.
// Run: npm run bench:bandwidth [-- --clients 200 --budget 8000000 --seconds 10 --warmup 3]
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { DOWNLOAD_KEY_PURPOSE, issueDownloadToken } from '../src/deployments/download-grant.ts';
import { startServer } from '../src/start.ts';
import { rows } from '../src/store/dialect.ts';
import { createToken } from '../src/tokens/tokens.ts';
import { pseudoRandom } from '../test/support/harness.ts';

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '200' },
    budget: { type: 'string', default: '8000000' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    size: { type: 'string', default: '4000000' },
  },
});
const CLIENTS = Number(args.clients);
const BUDGET = Number(args.budget);
const SECONDS = Number(args.seconds);
const WARMUP = Number(args.warmup);
const SIZE = Number(args.size);
const ADMIN = 'bench-admin-token-0123456789';

const dir = mkdtempSync(join(tmpdir(), 'fota-bench-bandwidth-'));
const server = await startServer(loadConfig({}, { dataDir: join(dir, 'data'), artifactsDir: join(dir, 'artifacts'), port: 0, adminToken: ADMIN }), { host: '127.0.0.1', log: pino({ level: 'silent' }) });
try {
  const operator = (await createToken(server.ctx, 'bench', { role: 'operator', name: 'bench ops' })).token;
  const maker = (await createToken(server.ctx, 'bench', { role: 'manufacturer', name: 'bench ci', manufacturer: 'bench' })).token;
  const api = async (path: string, token: string, init: { method?: string; body?: unknown; raw?: Uint8Array } = {}) => {
    const res = await fetch(`${server.url}${path}`, {
      method: init.method ?? (init.body !== undefined || init.raw ? 'POST' : 'GET'),
      headers: { authorization: `Bearer ${token}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: init.raw ?? (init.body !== undefined ? JSON.stringify(init.body) : undefined),
    });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const build = await api('/api/v1/builds?model=bw-model&version=2.0', maker, { raw: pseudoRandom(SIZE, 'bandwidth-bench') });
  for (;;) {
    const state = await api(`/api/v1/builds/${String(build.id)}`, maker);
    if (state.status === 'ready') break;
    if (state.status === 'failed') throw new Error('build failed');
    await new Promise((r) => setTimeout(r, 50));
  }
  for (let i = 0; i < CLIENTS; i++) {
    await api('/api/v1/devices', operator, { body: { id: `bw-${i}`, model: 'bw-model', firmwareVersion: '1.0', credentials: { username: `bw-${i}`, password: 'device-password' } } });
  }
  const campaign = await api('/api/v1/campaigns', operator, { body: { name: 'bandwidth bench', buildId: build.id, stages: [{ percent: 100 }], bandwidthBytesPerSecond: BUDGET } });
  await api(`/api/v1/campaigns/${String(campaign.id)}/start`, operator, { body: {} });
  const deployments = await rows<{ id: string; deviceId: string; packageId: string; size: number }>(
    server.ctx.db,
    // A package is chosen when a device is commanded, not at the start: these devices take the
    // build's full package, as a device on an unknown base would.
    sql`SELECT d.id AS "id", d.device_id AS "deviceId", p.id AS "packageId", p.file_size AS "size" FROM deployments d JOIN packages p ON p.build_id = d.build_id AND p.kind = 'full' WHERE d.campaign_id = ${String(campaign.id)}`,
  );
  const key = server.ctx.vault.deriveKey(DOWNLOAD_KEY_PURPOSE);
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS * 2 });

  let received = 0;
  let requests = 0;
  let longestGapMs = 0;
  let stop = false;
  const client = async (d: (typeof deployments)[number]) => {
    const path = `/dl/${issueDownloadToken(key, { packageId: d.packageId, deploymentId: d.id, deviceId: d.deviceId, expiresAt: Date.now() + 3_600_000 })}`;
    let have = Math.floor(Math.random() * d.size);
    while (!stop) {
      if (have >= d.size) have = 0;
      const cutAfter = 65_536 + Math.floor(Math.random() * (1_048_576 - 65_536));
      requests += 1;
      await new Promise<void>((resolve) => {
        const req = request(`${server.url}${path}`, { agent, headers: { range: `bytes=${have}-` } }, (res) => {
          let got = 0;
          let last = performance.now();
          res.on('data', (chunk: Buffer) => {
            const now = performance.now();
            longestGapMs = Math.max(longestGapMs, now - last);
            last = now;
            got += chunk.length;
            have += chunk.length;
            received += chunk.length;
            // A flaky link: cut off mid-way, resume with a new request.
            if (got >= cutAfter || stop) req.destroy();
          });
          res.on('end', resolve);
          res.on('close', resolve);
          res.on('error', resolve);
        });
        req.on('error', () => resolve());
        req.end();
      });
    }
  };
  if (deployments.length !== CLIENTS) throw new Error(`expected ${CLIENTS} downloads, the campaign has ${deployments.length}`);
  const running = deployments.map((d) => client(d));
  await new Promise((r) => setTimeout(r, WARMUP * 1000));
  const from = { bytes: received, at: performance.now() };
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const to = { bytes: received, at: performance.now() };
  stop = true;
  await Promise.all(running);
  agent.destroy();
  const measured = (to.bytes - from.bytes) / ((to.at - from.at) / 1000);
  const ratio = measured / BUDGET;
  console.log(
    JSON.stringify(
      {
        budgetBytesPerSecond: BUDGET,
        clients: deployments.length,
        packageBytes: deployments[0]?.size,
        warmupSeconds: WARMUP,
        measuredSeconds: Number(((to.at - from.at) / 1000).toFixed(2)),
        measuredBytesPerSecond: Math.round(measured),
        ratio: Number(ratio.toFixed(4)),
        goal: { withinTenPercent: Math.abs(ratio - 1) <= 0.1 },
        requests,
        longestGapBetweenChunksMs: Math.round(longestGapMs),
        loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
      },
      null,
      2,
    ),
  );
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
