// Downloads from a server whose artifacts live in S3 (a real s3rver on loopback): the
// bytes stream through from the bucket with the same ranges and the same accounting.
import { request as httpRequest } from 'node:http';
import { beforeAll, describe, expect, it } from 'vitest';
import { DOWNLOAD_KEY_PURPOSE, issueDownloadToken } from '../../src/deployments/download-grant.ts';
import { newId } from '../../src/store/ids.ts';
import { findDeployment, insertDeployment } from '../../src/store/queries/deployments.ts';
import { insertDevice } from '../../src/store/queries/devices.ts';
import { pseudoRandom } from '../support/harness.ts';
import { S3_KEYS, useS3rver } from '../support/s3rver.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const s3 = useS3rver();
let server: TestServer;
let pkg: { id: string; buildId: string; size: number; file: Buffer };

beforeAll(async () => {
  server = await startTestServer({ s3: { endpoint: `http://127.0.0.1:${s3.port()}`, bucket: 'fota-dl', ...S3_KEYS } });
  const build = await server.upload('dl-s3', '1.0', pseudoRandom(2_000_000, 'dl-s3'));
  const full = build.packages.find((p) => p.kind === 'full');
  if (!full) throw new Error(`build ${build.id} is ${build.status}`);
  const file = Buffer.from(await (await server.api(`/api/v1/packages/${full.id}/file`, { token: server.tokens.operator })).arrayBuffer());
  pkg = { id: full.id, buildId: build.id, size: full.size, file };
});

async function deploy(): Promise<{ url: string; deploymentId: string }> {
  const now = Date.now();
  const deviceId = newId('dev');
  const deploymentId = newId('dep');
  await server.ctx.db.transaction(async (tx) => {
    await insertDevice(tx, { id: deviceId, model: 'dl-s3', createdAt: now });
    await insertDeployment(tx, { id: deploymentId, deviceId, buildId: pkg.buildId, packageId: pkg.id, state: 'commanded', createdAt: now, updatedAt: now });
  });
  const token = issueDownloadToken(server.ctx.vault.deriveKey(DOWNLOAD_KEY_PURPOSE), { packageId: pkg.id, deploymentId, deviceId, expiresAt: now + 60_000 });
  return { url: `${server.url}/dl/${token}`, deploymentId };
}

async function servedOf(id: string, expected?: number): Promise<number> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const served = (await findDeployment(server.ctx.db, id))?.bytesServed ?? 0;
    if ((expected === undefined ? served > 0 : served === expected) || Date.now() > deadline) return served;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('GET /dl/<token> with artifacts in S3', () => {
  it('serves the whole file and counts it', async () => {
    const { url, deploymentId } = await deploy();
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(pkg.file)).toBe(true);
    expect(await servedOf(deploymentId, pkg.size)).toBe(pkg.size);
  });

  it.each([
    ['bytes=0-0', 0, 0],
    ['bytes=1000-1999', 1000, 1999],
    ['bytes=-77', -77, -1],
  ])('serves %s as 206 with exactly those bytes', async (range, from, to) => {
    const start = from < 0 ? pkg.size + from : from;
    const end = to < 0 ? pkg.size + to : to;
    const res = await fetch((await deploy()).url, { headers: { range } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${pkg.size}`);
    expect(Buffer.from(await res.arrayBuffer()).equals(pkg.file.subarray(start, end + 1))).toBe(true);
  });

  it('answers 416 for a range past the end', async () => {
    const res = await fetch((await deploy()).url, { headers: { range: `bytes=${pkg.size}-` } });
    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBe(`bytes */${pkg.size}`);
  });

  it('counts only what was sent to a client that hangs up', async () => {
    const { url, deploymentId } = await deploy();
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(url, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
      req.end();
    });
    const served = await servedOf(deploymentId);
    expect(served).toBeGreaterThan(0);
    expect(served).toBeLessThan(pkg.size);
  });
});
