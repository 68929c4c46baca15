// A compromised server cannot ship firmware. Real servers on loopback, the reference
// device agent over OMA DM pinning the manufacturer's root of offline keys, and two
// attacks: (1) whoever controls the running server turns offline signing off and uploads
// an image the manufacturer never signed: the server's online key signs its packages,
// and the device refuses them with FUMO 404 before installing; (2) a copy of the server's
// data directory with its master key, started as a server of the attacker's own, that
// opens the sealed signing key, forges a rotation to a key it holds and signs a statement
// with it: the device refuses that too. `fota package apply` refuses the same packages.
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { DeviceAgent } from '../../src/device/agent.ts';
import { parseTrust } from '../../src/device/trust.ts';
import { signingKeyFor } from '../../src/manufacturers/signing-keys.ts';
import type { TrustPolicy } from '../../src/signing/envelope.ts';
import { generateKey, writeKeyFiles } from '../../src/signing/keys.ts';
import { signRoot } from '../../src/signing/offline-root.ts';
import { startServer } from '../../src/start.ts';
import { createToken, SYSTEM_ACTOR } from '../../src/tokens/tokens.ts';
import { fotaInProcess } from '../support/cli.ts';
import { nextBuild, pseudoRandom, tempDir } from '../support/harness.ts';
import { offlineVendor, rootKeyOf, statementFor, statementHeaders } from '../support/offline.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { runSql, selectRow } from '../support/sql.ts';
import { postgresServer } from '../support/store.ts';

const MODEL = 'router-x';
const PASSWORD = 'device-password-1';
const vendor = offlineVendor('acme', 3, 2);
const v1 = pseudoRandom(120_000, 'genuine-1.0');
const v2 = nextBuild(v1, 'genuine-2.0');
const evil = nextBuild(v1, 'evil');

let server: TestServer;
let trust: TrustPolicy;

async function json(res: Response): Promise<Record<string, unknown>> {
  const body = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`${res.status}: ${JSON.stringify(body)}`);
  return body;
}

async function call(base: string, path: string, token: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && !(body instanceof Uint8Array) ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body === undefined ? {} : { body: body instanceof Uint8Array ? body : JSON.stringify(body) }),
  });
}

async function settle(base: string, token: string, id: string): Promise<{ status: string; packages: Array<{ id: string; kind: string }> }> {
  for (let i = 0; i < 600; i++) {
    const build = (await json(await call(base, `/api/v1/builds/${id}`, token))) as { status: string; packages: Array<{ id: string; kind: string }> };
    if (build.status !== 'processing') return build;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`build ${id} never settled`);
}

async function upload(base: string, token: string, version: string, image: Uint8Array, headers: Record<string, string> = {}) {
  const res = await call(base, `/api/v1/builds?model=${MODEL}&version=${version}`, token, 'POST', image, headers);
  const body = await json(res);
  return settle(base, token, body.id as string);
}

async function register(id: string): Promise<void> {
  await json(await call(server.url, '/api/v1/devices', server.tokens.operator, 'POST', { id, model: MODEL, firmwareVersion: '1.0', credentials: { username: id, password: PASSWORD } }));
}

/** A device on 1.0, its own data dir (the temp dir lives as long as the test). */
async function agentFor(id: string, serverUrl: string): Promise<DeviceAgent> {
  const dir = tempDir();
  await writeFile(join(dir, 'v1.img'), v1);
  return DeviceAgent.open({ serverUrl, devId: id, model: MODEL, username: id, password: PASSWORD, dataDir: join(dir, 'device'), image: join(dir, 'v1.img'), version: '1.0', trust, download: { retryDelayMs: 20 } });
}

beforeAll(async () => {
  server = await startTestServer();
  await json(await call(server.url, '/api/v1/manufacturers/acme/offline-keys', server.tokens.acme, 'POST', vendor.root));
  await json(await call(server.url, '/api/v1/manufacturers/acme/offline-policy', server.tokens.acme, 'POST', { requireOfflineSigning: true }));
  for (const [version, image] of [['1.0', v1], ['2.0', v2]] as const) {
    const build = await upload(server.url, server.tokens.acme, version, image, statementHeaders(statementFor(vendor, image, { model: MODEL, version })));
    expect(build.status).toBe('ready');
  }
  // What a device pins: the server's delivery keys and the manufacturer's root, version 1.
  const keys = await (await call(server.url, '/api/v1/manufacturers/acme/keys', server.tokens.operator)).text();
  trust = { ...parseTrust(keys, 'served keys'), offline: { root: vendor.root } };
});

async function deployAndRun(base: string, token: string, deviceId: string, buildId: string, agent: DeviceAgent) {
  const deployment = await json(await call(base, '/api/v1/deployments', token, 'POST', { deviceId, buildId }));
  const report = await agent.runOnce();
  const after = await json(await call(base, `/api/v1/deployments/${deployment.id as string}`, token));
  return { report, deployment: after as { state: string; resultCode: number | null; packageId: string } };
}

const buildIdOf = async (version: string) => ((await selectRow<{ id: string }>(server.ctx.db, `select b.id from builds b join models m on m.id = b.model_id where m.name = ? and b.version = ?`, MODEL, version))?.id ?? '');

describe('a compromised server cannot ship firmware', () => {
  it('a device that pins the offline root installs an image the manufacturer signed', async () => {
    await register('genuine');
    const agent = await agentFor('genuine', server.url);
    const { report, deployment } = await deployAndRun(server.url, server.tokens.operator, 'genuine', await buildIdOf('2.0'), agent);
    expect(report.jobs.map((j) => j.resultCode)).toEqual([200]);
    expect(deployment.state).toBe('succeeded');
    expect(await readFile(agent.activeImagePath())).toEqual(v2);
  });

  it("refuses, with FUMO 404 and before installing, an image the server's online key signed but the manufacturer never did", async () => {
    await register('victim');
    const agent = await agentFor('victim', server.url);
    // Whoever holds the server (its admin token here) turns offline signing off and uploads.
    await json(await call(server.url, '/api/v1/manufacturers/acme/offline-policy', server.tokens.admin, 'POST', { requireOfflineSigning: false }));
    const build = await upload(server.url, server.tokens.acme, '6.6.6', evil);
    expect(build.status).toBe('ready');
    const { report, deployment } = await deployAndRun(server.url, server.tokens.operator, 'victim', await buildIdOf('6.6.6'), agent);
    expect(report.jobs).toMatchObject([{ resultCode: 404, reason: expect.stringMatching(/no target statement signed by acme's offline keys/) }]);
    expect(deployment).toMatchObject({ state: 'failed', resultCode: 404 });
    expect(report.firmwareVersion).toBe('1.0');
    expect(await readFile(agent.activeImagePath())).toEqual(v1);

    // `fota package apply` refuses the very same package.
    const dir = tempDir();
    const file = join(dir, 'evil.fota');
    await writeFile(file, Buffer.from(await (await call(server.url, `/api/v1/packages/${deployment.packageId}/file`, server.tokens.operator)).arrayBuffer()));
    await writeFile(join(dir, 'keys.json'), await (await call(server.url, '/api/v1/manufacturers/acme/keys', server.tokens.operator)).text());
    await writeFile(join(dir, 'root.json'), JSON.stringify(vendor.root));
    await writeFile(join(dir, 'v1.img'), v1);
    const applied = await fotaInProcess(['package', 'apply', file, '--base', join(dir, 'v1.img'), '--out', join(dir, 'out.img'), '--pubkey', join(dir, 'keys.json'), '--root', join(dir, 'root.json')]);
    expect(applied.code).toBe(1);
    expect(applied.stderr).toMatch(/FUMO 404 signature validation failed/);
    await json(await call(server.url, '/api/v1/manufacturers/acme/offline-policy', server.tokens.acme, 'POST', { requireOfflineSigning: true }));
  });

  // On PostgreSQL the database is not in the data directory; the attack is the same.
  it.skipIf(postgresServer() !== undefined)('a stolen data directory plus master key cannot produce an installable package', async () => {
    await register('stolen-target');
    // The attacker's copy: database, master key and artifacts, started as their own server.
    const loot = tempDir();
    await cp(server.ctx.config.dataDir, join(loot, 'data'), { recursive: true });
    await cp(server.ctx.config.artifactsDir, join(loot, 'artifacts'), { recursive: true });
    const stolen = await startServer(loadConfig({}, { dataDir: join(loot, 'data'), artifactsDir: join(loot, 'artifacts'), port: 0 }), { host: '127.0.0.1', log: pino({ level: 'silent' }), runner: { leaseMs: 5_000, pollMs: 100 } });
    try {
      const acme = await selectRow<{ id: string }>(stolen.ctx.db, 'select id from manufacturers where name = ?', 'acme');
      // The master key opens the server's sealed signing key: the online key is theirs.
      const online = await signingKeyFor(stolen.ctx, acme?.id ?? '', { actor: SYSTEM_ACTOR });
      expect(online.secretKey.length).toBe(64);
      // The offline keys are not in the copy; a root of their own, written straight into
      // the database, and a statement signed by it, are all they can make.
      const theirs = generateKey();
      const forged = signRoot({ manufacturer: 'acme', version: 2, threshold: 1, keys: [rootKeyOf(theirs)] }, [theirs]);
      await runSql(stolen.ctx.db, 'insert into offline_roots (id, manufacturer_id, version, envelope, created_at) values (?, ?, 2, ?, 0)', 'key_forged', acme?.id, JSON.stringify(forged));
      const token = (await createToken(stolen.ctx, 'attacker', { role: 'manufacturer', name: 'attacker', manufacturer: 'acme' })).token;
      const statement = statementFor({ manufacturer: 'acme', keys: [theirs], root: forged }, evil, { model: MODEL, version: '6.6.7' });
      const build = await upload(stolen.url, token, '6.6.7', evil, statementHeaders(statement));
      expect(build.status).toBe('ready');

      // The device, pointed at the attacker's server, knows only its pinned root.
      const agent = await agentFor('stolen-target', stolen.url);
      const operator = (await createToken(stolen.ctx, 'attacker', { role: 'operator', name: 'ops2' })).token;
      const buildId = (await selectRow<{ id: string }>(stolen.ctx.db, `select b.id from builds b join models m on m.id = b.model_id where m.name = ? and b.version = ?`, MODEL, '6.6.7'))?.id ?? '';
      const { report, deployment } = await deployAndRun(stolen.url, operator, 'stolen-target', buildId, agent);
      expect(report.jobs).toMatchObject([{ resultCode: 404, reason: expect.stringMatching(/rotation to version 2 is not signed by the keys of version 1/) }]);
      expect(deployment).toMatchObject({ state: 'failed', resultCode: 404 });
      expect(await readFile(agent.activeImagePath())).toEqual(v1);

      // Signing a package by hand with the stolen online key fares no better.
      const dir = tempDir();
      const key = await writeKeyFiles(join(dir, 'stolen.json'), online);
      await writeFile(join(dir, 'v1.img'), v1);
      await writeFile(join(dir, 'evil.img'), evil);
      await writeFile(join(dir, 'root.json'), JSON.stringify(vendor.root));
      const made = await fotaInProcess(['package', 'make', '--from', join(dir, 'v1.img'), '--from-version', '1.0', '--to', join(dir, 'evil.img'), '--to-version', '6.6.8', '--model', MODEL, '--manufacturer', 'acme', '--key', key.secretPath, '--out', join(dir, 'p.fota')]);
      expect(made.code, made.stderr).toBe(0);
      const applied = await fotaInProcess(['package', 'apply', join(dir, 'p.fota'), '--base', join(dir, 'v1.img'), '--out', join(dir, 'out.img'), '--pubkey', key.publicPath, '--root', join(dir, 'root.json')]);
      expect(applied.code).toBe(1);
      expect(applied.stderr).toMatch(/FUMO 404/);
    } finally {
      await stolen.close();
    }
  });
});

describe('rotation and revocation, followed by the device', () => {
  it('follows a rotation shipped with a package and keeps it: a server that later withholds it cannot bring a revoked key back', async () => {
    const [k1, k2, k3] = vendor.keys as [(typeof vendor.keys)[0], (typeof vendor.keys)[0], (typeof vendor.keys)[0]];
    // The manufacturer rotates to 2 of {k1, k3}: k2 is revoked (say it was lost).
    const rotation = signRoot({ manufacturer: 'acme', version: 2, threshold: 2, keys: [k1, k3].map(rootKeyOf) }, [k1, k2, k3]);
    await json(await call(server.url, '/api/v1/manufacturers/acme/offline-keys', server.tokens.acme, 'POST', rotation));
    const v3 = nextBuild(v1, 'genuine-3.0');
    await upload(server.url, server.tokens.acme, '3.0', v3, statementHeaders(statementFor(vendor, v3, { model: MODEL, version: '3.0' }, [k1, k3])));
    await register('rotating');
    const agent = await agentFor('rotating', server.url);
    const first = await deployAndRun(server.url, server.tokens.operator, 'rotating', await buildIdOf('3.0'), agent);
    expect(first.report.jobs.map((j) => j.resultCode)).toEqual([200]);
    expect(agent.snapshot().offlineRoot?.signed.version).toBe(2);

    // Whoever holds the server deletes the rotation and uploads an image signed with the
    // revoked k2 (and k1): the server, knowing only version 1 now, accepts it.
    await runSql(server.ctx.db, 'delete from offline_roots where version = 2');
    const bad = nextBuild(v3, 'revoked-k2');
    const build = await upload(server.url, server.tokens.acme, '3.1', bad, statementHeaders(statementFor(vendor, bad, { model: MODEL, version: '3.1' }, [k1, k2])));
    expect(build.status).toBe('ready');
    // The device restarts in between: what it followed is on its disk, not only in memory.
    const restarted = await DeviceAgent.open(agent.options);
    const second = await deployAndRun(server.url, server.tokens.operator, 'rotating', await buildIdOf('3.1'), restarted);
    expect(second.report.jobs).toMatchObject([{ resultCode: 404, reason: expect.stringMatching(/root version 2.*1 valid signature\(s\) from trusted keys, 2 required/) }]);
    expect(await readFile(restarted.activeImagePath())).toEqual(v3);
  });
});
