// What the download route keeps between requests so a request costs little besides its
// bytes (grants.ts, packages.ts, local-objects.ts, served-ledger.ts), checked through
// real HTTP: a link that worked stops working when it expires; a forged link is refused
// however often it is tried; an object removed or rewritten is noticed; bytes of many
// downloads ending together are all counted; a graceful stop writes the last counts.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CheckedGrants } from '../../src/download/grants.ts';
import { chmod, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type DownloadGrant, issueDownloadToken } from '../../src/deployments/download-grant.ts';
import { findDeployment } from '../../src/store/queries/deployments.ts';
import { deploy, get, publish, servedOf } from '../support/downloads.ts';
import { startTestServer } from '../support/server.ts';

describe('download links checked once and kept', () => {
  it('refuses a link that worked once its expiry has passed, and records nothing for it', async () => {
    const server = await startTestServer();
    const pkg = await publish(server, 'kept-expiry', 20_000);
    const { url, deploymentId } = await deploy(server, pkg, server.clock.now() + 60_000);
    expect((await get(url)).res.status).toBe(200);
    expect((await get(url, { range: 'bytes=0-9' })).res.status).toBe(206);
    expect(await servedOf(server, deploymentId, pkg.size + 10)).toBe(pkg.size + 10);
    server.clock.advance(60_000);
    const { res, body } = await get(url);
    expect(res.status).toBe(403);
    expect(body.toString()).toMatch(/expired/);
    // Still refused the next time (the kept grant is gone, the token verified afresh).
    expect((await get(url, { range: 'bytes=0-9' })).res.status).toBe(403);
    await new Promise((r) => setTimeout(r, 100));
    expect((await findDeployment(server.ctx.db, deploymentId))?.bytesServed).toBe(pkg.size + 10);
  });

  it('refuses a forged link every time, also after the real one was served', async () => {
    const server = await startTestServer();
    const pkg = await publish(server, 'kept-forged', 5_000);
    const { token, url } = await deploy(server, pkg);
    expect((await get(url)).res.status).toBe(200);
    const [payload = '', signature = ''] = token.split('.');
    const flipped = `${payload}.${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`;
    const otherKey = issueDownloadToken(new Uint8Array(randomBytes(32)), JSON.parse(Buffer.from(payload, 'base64url').toString()) as DownloadGrant);
    for (let i = 0; i < 3; i += 1) {
      for (const forged of [flipped, otherKey]) expect((await get(`${server.url}/dl/${forged}`)).res.status).toBe(403);
    }
  });

  it('keeps no refusal, and judges a kept grant by the clock of each request', () => {
    const key = new Uint8Array(randomBytes(32));
    const grants = new CheckedGrants(key, 2);
    const grant = (n: number): DownloadGrant => ({ packageId: `pkg_${n}`, deploymentId: `dep_${n}`, deviceId: `dev_${n}`, expiresAt: 1_000 });
    const tokens = [1, 2, 3].map((n) => issueDownloadToken(key, grant(n)));
    expect(grants.check(tokens[0] ?? '', 10)).toEqual(grant(1));
    expect(grants.check(tokens[0] ?? '', 1_000)).toEqual({ error: 'expired' });
    expect(grants.check(tokens[0] ?? '', 10)).toEqual(grant(1));
    // Over capacity, the oldest goes; each still verifies on its own.
    for (const token of tokens) expect(grants.check(token, 10)).toMatchObject({ expiresAt: 1_000 });
    expect(grants.check(`${tokens[1]}x`, 10)).toEqual({ error: 'forged' });
    expect(grants.check(issueDownloadToken(new Uint8Array(randomBytes(32)), grant(4)), 10)).toEqual({ error: 'forged' });
  });
});

describe('the package object, as it is on disk at each request', () => {
  it('answers 404 once the object is removed from the store, and counts nothing for it', async () => {
    const server = await startTestServer();
    const pkg = await publish(server, 'kept-gone', 30_000);
    const { url, deploymentId } = await deploy(server, pkg);
    expect((await get(url)).res.status).toBe(200);
    expect(await servedOf(server, deploymentId, pkg.size)).toBe(pkg.size);
    await server.ctx.artifacts.delete(pkg.sha256);
    expect((await get(url)).res.status).toBe(404);
    await new Promise((r) => setTimeout(r, 100));
    expect((await findDeployment(server.ctx.db, deploymentId))?.bytesServed).toBe(pkg.size);
  });

  it('serves a file rewritten in place as it is now, not as an earlier request read it', async () => {
    const server = await startTestServer();
    const pkg = await publish(server, 'kept-rewritten', 30_000);
    const { url } = await deploy(server, pkg);
    const object = join(server.ctx.config.artifactsDir, pkg.sha256.slice(0, 2), pkg.sha256);
    const original = await readFile(object);
    expect((await get(url)).body.equals(original)).toBe(true);
    const damaged = Buffer.from(original);
    damaged[100] = (damaged[100] ?? 0) ^ 0x55;
    await chmod(object, 0o644);
    await writeFile(object, damaged);
    // A later modified time than the first read's, however coarse the file system's clock.
    const later = new Date(Date.now() + 5_000);
    await utimes(object, later, later);
    expect((await get(url)).body.equals(damaged)).toBe(true);
  });
});

describe('bytes served, in group commits', () => {
  it('counts every one of many downloads that end together, and moves each deployment to downloading once', async () => {
    const server = await startTestServer();
    const pkg = await publish(server, 'kept-many', 50_000);
    const links = await Promise.all(Array.from({ length: 12 }, () => deploy(server, pkg)));
    const answers = await Promise.all(links.flatMap(({ url }) => [get(url), get(url, { range: 'bytes=-1000' })]));
    expect(answers.map((a) => a.res.status).sort()).toEqual([...Array(12).fill(200), ...Array(12).fill(206)]);
    for (const { deploymentId } of links) {
      expect(await servedOf(server, deploymentId, pkg.size + 1000)).toBe(pkg.size + 1000);
      const row = await findDeployment(server.ctx.db, deploymentId);
      expect(row?.state).toBe('downloading');
      expect(JSON.parse(row?.history ?? '[]')).toEqual([{ at: expect.any(String), state: 'downloading', cause: 'first bytes served' }]);
    }
  });

  it('writes the counts of the last downloads when the server stops gracefully', async () => {
    const server = await startTestServer();
    const pkg = await publish(server, 'kept-stop', 40_000);
    const links = await Promise.all(Array.from({ length: 5 }, () => deploy(server, pkg)));
    await Promise.all(links.map(({ url }) => get(url)));
    // The database stays open until the counts are written: read them through the same store
    // just before it closes (close() settles the ledger before closing the context).
    const db = server.ctx.db;
    const close = db.close.bind(db);
    let counted: number[] = [];
    db.close = async () => {
      counted = await Promise.all(links.map(async ({ deploymentId }) => (await findDeployment(db, deploymentId))?.bytesServed ?? -1));
      await close();
    };
    await server.close();
    expect(counted).toEqual(links.map(() => pkg.size));
  });

  it('writes on a graceful stop the counts of a deployment already downloading, which wait for others to share a write', async () => {
    const server = await startTestServer();
    const pkg = await publish(server, 'kept-stop-later', 40_000);
    const { url, deploymentId } = await deploy(server, pkg);
    expect((await get(url)).res.status).toBe(200);
    expect(await servedOf(server, deploymentId, pkg.size)).toBe(pkg.size);
    // Resumed pieces of a deployment now downloading: counts that may wait (served-ledger.ts).
    for (let i = 0; i < 5; i++) expect((await get(url, { range: `bytes=${i * 100}-${i * 100 + 99}` })).res.status).toBe(206);
    const db = server.ctx.db;
    const close = db.close.bind(db);
    let counted = -1;
    db.close = async () => {
      counted = (await findDeployment(db, deploymentId))?.bytesServed ?? -1;
      await close();
    };
    await server.close();
    expect(counted).toBe(pkg.size + 500);
  });
});
