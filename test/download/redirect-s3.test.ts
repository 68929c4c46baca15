// FOTA_DOWNLOAD_REDIRECT=s3 through real HTTP: the server checks the grant and counts the
// download, then sends the device to a short-lived presigned URL of the bucket (a real
// s3rver on loopback), which serves the bytes, ranges included. The reference agent
// follows the redirect and still resumes after a cut.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DOWNLOAD_REDIRECT_NEEDS_S3, loadConfig } from '../../src/config.ts';
import { PackageDownloader } from '../../src/device/download.ts';
import { parseTrust } from '../../src/device/trust.ts';
import { DOWNLOAD_KEY_PURPOSE, issueDownloadToken } from '../../src/deployments/download-grant.ts';
import { newId } from '../../src/store/ids.ts';
import { findDeployment, insertDeployment } from '../../src/store/queries/deployments.ts';
import { insertDevice } from '../../src/store/queries/devices.ts';
import { pseudoRandom, tempDir } from '../support/harness.ts';
import { S3_KEYS, useS3rver } from '../support/s3rver.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const TTL_SECONDS = 3;
const MODEL = 'dl-redirect';
const s3 = useS3rver();
let server: TestServer;
let pkg: { id: string; buildId: string; size: number; file: Buffer };

beforeAll(async () => {
  const defaults = loadConfig({});
  server = await startTestServer({
    s3: { endpoint: `http://127.0.0.1:${s3.port()}`, bucket: 'fota-redirect', ...S3_KEYS },
    download: { ...defaults.download, redirect: 's3', redirectTtlSeconds: TTL_SECONDS },
  });
  const build = await server.upload(MODEL, '1.0', pseudoRandom(1_500_000, 'dl-redirect'));
  const full = build.packages.find((p) => p.kind === 'full');
  if (!full) throw new Error(`build ${build.id} is ${build.status}`);
  const file = Buffer.from(await (await server.api(`/api/v1/packages/${full.id}/file`, { token: server.tokens.operator })).arrayBuffer());
  pkg = { id: full.id, buildId: build.id, size: full.size, file };
});

async function deploy(options: { expiresAt?: number } = {}): Promise<{ url: string; token: string; deploymentId: string }> {
  const now = server.ctx.clock.now();
  const deviceId = newId('dev');
  const deploymentId = newId('dep');
  await server.ctx.db.transaction(async (tx) => {
    await insertDevice(tx, { id: deviceId, model: MODEL, createdAt: now });
    await insertDeployment(tx, { id: deploymentId, deviceId, buildId: pkg.buildId, packageId: pkg.id, state: 'commanded', createdAt: now, updatedAt: now });
  });
  const token = issueDownloadToken(server.ctx.vault.deriveKey(DOWNLOAD_KEY_PURPOSE), { packageId: pkg.id, deploymentId, deviceId, expiresAt: options.expiresAt ?? now + 60_000 });
  return { url: `${server.url}/dl/${token}`, token, deploymentId };
}

async function deployment(id: string) {
  const row = await findDeployment(server.ctx.db, id);
  if (!row) throw new Error(`no deployment ${id}`);
  return row;
}

/** Asks the server without following the redirect, as a test must to see it. */
function ask(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Response> {
  return fetch(url, { method, headers, redirect: 'manual' });
}

function locationOf(res: Response): URL {
  const location = res.headers.get('location');
  if (!location) throw new Error(`HTTP ${res.status} without a Location`);
  return new URL(location);
}

describe('GET /dl/<token> with FOTA_DOWNLOAD_REDIRECT=s3', () => {
  it('redirects an authorised device to a presigned URL that serves the package, and counts the download', async () => {
    const { url, deploymentId } = await deploy();
    const res = await ask(url);
    expect(res.status).toBe(307);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const location = locationOf(res);
    expect(location.origin).toBe(`http://127.0.0.1:${s3.port()}`);
    expect(location.searchParams.get('X-Amz-Expires')).toBe(String(TTL_SECONDS));
    const bytes = await fetch(location);
    expect(bytes.status).toBe(200);
    expect(Buffer.from(await bytes.arrayBuffer()).equals(pkg.file)).toBe(true);
    // Counted at the redirect, as the server never sees the bytes go out.
    await expect.poll(async () => (await deployment(deploymentId)).bytesServed).toBe(pkg.size);
    expect((await deployment(deploymentId)).state).toBe('downloading');
  });

  it('counts a range by its length, and the presigned URL serves exactly that range', async () => {
    const { url, deploymentId } = await deploy();
    const range = 'bytes=1000-1999';
    const res = await ask(url, { range });
    expect(res.status).toBe(307);
    const part = await fetch(locationOf(res), { headers: { range } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 1000-1999/${pkg.size}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(pkg.file.subarray(1000, 2000))).toBe(true);
    await expect.poll(async () => (await deployment(deploymentId)).bytesServed).toBe(1000);
  });

  it('answers a range past the end itself with 416, and HEAD with the headers, without a URL', async () => {
    const { url, deploymentId } = await deploy();
    const past = await ask(url, { range: `bytes=${pkg.size}-` });
    expect(past.status).toBe(416);
    expect(past.headers.get('location')).toBeNull();
    const head = await ask(url, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(pkg.size));
    expect(head.headers.get('location')).toBeNull();
    expect((await deployment(deploymentId)).bytesServed).toBe(0);
  });

  it('gives no URL to a forged, expired or missing grant', async () => {
    const { token, deploymentId } = await deploy();
    const forged = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    const expired = (await deploy({ expiresAt: server.ctx.clock.now() - 1 })).url;
    for (const url of [`${server.url}/dl/${forged}`, expired, `${server.url}/dl/nothing-here`]) {
      const res = await ask(url);
      expect(res.status).toBe(403);
      expect(res.headers.get('location')).toBeNull();
      expect(await res.text()).not.toMatch(/X-Amz|127\.0\.0\.1/);
    }
    expect((await deployment(deploymentId)).bytesServed).toBe(0);
  });

  it('hands out a URL that stops working once its time is up', async () => {
    const res = await ask((await deploy()).url);
    const location = locationOf(res);
    // X-Amz-Date has whole seconds: past TTL + 1 s the URL is expired whatever the rounding.
    await new Promise((resolve) => setTimeout(resolve, (TTL_SECONDS + 1.5) * 1000));
    const late = await fetch(location);
    expect(late.status).toBe(403);
    expect(await late.text()).toMatch(/expired/i);
  });

  it('lets the reference agent follow the redirect and resume after a cut', async () => {
    const { url } = await deploy();
    const keys = await (await server.api('/api/v1/manufacturers/acme/keys', { token: server.tokens.operator })).text();
    const downloader = new PackageDownloader({
      dir: join(tempDir(), 'download'),
      trust: parseTrust(keys, 'served keys'),
      device: async () => ({ model: MODEL, securityVersion: 0 }),
      retryDelayMs: 5,
      faults: { cutAt: [Math.floor(pkg.size / 2)] },
    });
    const outcome = await downloader.download(url);
    expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
    if (!outcome.ok) return;
    expect((await readFile(outcome.path)).equals(pkg.file)).toBe(true);
    expect(downloader.requests.every((r) => r.redirected), JSON.stringify(downloader.requests)).toBe(true);
    // After the cut it asked for the rest only, from where it was cut.
    const resumed = downloader.requests.filter((r) => r.range?.startsWith(`bytes=${Math.floor(pkg.size / 2)}-`));
    expect(resumed.length, JSON.stringify(downloader.requests)).toBeGreaterThan(0);
    expect(resumed.every((r) => r.status === 206)).toBe(true);
  });
});

describe('FOTA_DOWNLOAD_REDIRECT=s3 with the local artifact directory', () => {
  it('is refused when the configuration is read', () => {
    expect(() => loadConfig({ FOTA_DOWNLOAD_REDIRECT: 's3' })).toThrow(DOWNLOAD_REDIRECT_NEEDS_S3);
  });

  it('is refused at start when given in code', async () => {
    const defaults = loadConfig({});
    await expect(startTestServer({ download: { ...defaults.download, redirect: 's3' } })).rejects.toThrow(/FOTA_DOWNLOAD_REDIRECT=s3 needs the S3 artifact store/);
  });
});
