// The server's side of offline signing, through real HTTP: registering roots of offline
// keys and rotations, revocation and the require-offline-signing policy (roles enforced,
// audited), uploads refused without a valid target statement with a message that says
// what to do, formatVersion 2 packages carrying the statement, and the offline secret
// keys nowhere on the server.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getTableConfig } from 'drizzle-orm/sqlite-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { manifestSchema } from '../../src/packages/manifest.ts';
import { signRoot } from '../../src/signing/offline-root.ts';
import * as schema from '../../src/store/schema/index.ts';
import { pseudoRandom } from '../support/harness.ts';
import { offlineVendor, rootKeyOf, secretForms, statementFor, statementHeaders } from '../support/offline.ts';
import { capturedLog, startTestServer, type TestServer } from '../support/server.ts';
import { selectRows } from '../support/sql.ts';

let server: TestServer;
const captured = capturedLog();
const vendor = offlineVendor('acme', 3, 2);
const [k1, k2, k3] = vendor.keys as [(typeof vendor.keys)[0], (typeof vendor.keys)[0], (typeof vendor.keys)[0]];
beforeAll(async () => {
  server = await startTestServer({}, { log: captured.log });
});

const post = (path: string, token: string, json: unknown) => server.api(path, { method: 'POST', token, body: JSON.stringify(json), headers: { 'content-type': 'application/json' } });
const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

function uploadSigned(model: string, version: string, image: Uint8Array, headers: Record<string, string> = {}, token = server.tokens.acme) {
  return server.api(`/api/v1/builds?model=${model}&version=${version}`, { method: 'POST', token, body: image, headers });
}

describe('offline keys on the server', () => {
  it('refuses to require offline signing before any offline key is registered', async () => {
    const res = await post('/api/v1/manufacturers/acme/offline-policy', server.tokens.acme, { requireOfflineSigning: true });
    expect(res.status).toBe(409);
    expect((await errorOf(res)).message).toMatch(/register a root first/);
  });

  it('labels the quick-start mode: server-held keys only', async () => {
    const view = await (await server.api('/api/v1/manufacturers/acme/offline-keys', { token: server.tokens.operator })).json();
    expect(view).toMatchObject({ mode: 'server-held', requireOfflineSigning: false, keys: [] });
  });

  it("refuses a manufacturer registering another manufacturer's root", async () => {
    expect((await post('/api/v1/manufacturers/acme/offline-keys', server.tokens.globex, vendor.root)).status).toBe(403);
  });

  it('refuses a first root its own threshold did not sign', async () => {
    const weak = signRoot({ ...vendor.root.signed }, [k1]);
    const res = await post('/api/v1/manufacturers/acme/offline-keys', server.tokens.acme, weak);
    expect(res.status).toBe(422);
    expect((await errorOf(res)).message).toMatch(/not signed by its own keys/);
  });

  it('refuses malformed and hostile roots with 400', async () => {
    for (const body of [{}, { signed: { ...vendor.root.signed, threshold: 9 }, signatures: [] }, { signed: vendor.root.signed, signatures: 'x' }]) {
      expect((await post('/api/v1/manufacturers/acme/offline-keys', server.tokens.acme, body)).status).toBe(400);
    }
    const huge = await post('/api/v1/manufacturers/acme/offline-keys', server.tokens.acme, { ...vendor.root, pad: 'x'.repeat(70_000) });
    expect([400, 413]).toContain(huge.status);
  });

  it('registers root version 1, then requires offline signing; both audited', async () => {
    const res = await post('/api/v1/manufacturers/acme/offline-keys', server.tokens.acme, vendor.root);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ mode: 'offline', rootVersion: 1, threshold: 2, keys: vendor.keys.map((k) => ({ keyid: k.keyid, status: 'active' })) });
    expect((await post('/api/v1/manufacturers/acme/offline-keys', server.tokens.acme, vendor.root)).status).toBe(409);
    const policy = await post('/api/v1/manufacturers/acme/offline-policy', server.tokens.acme, { requireOfflineSigning: true });
    expect(policy.status).toBe(200);
    const audit = await selectRows<{ action: string }>(server.ctx.db, "select action from audit_events where action like 'offline%' order by at");
    expect(audit.map((a) => a.action)).toEqual(['offline-root.register', 'offline-policy.set']);
  });
});

describe('uploads where offline signing is required', () => {
  const image = pseudoRandom(30_000, 'signed-1.0');

  it('refuses an upload without a target statement, saying how to sign it', async () => {
    const res = await uploadSigned('router-x', '1.0', image);
    expect(res.status).toBe(422);
    expect((await errorOf(res)).message).toMatch(/requires offline signing.*fota build sign IMAGE --key KEY.json --manufacturer acme --model router-x --version 1.0/);
  });

  it('refuses a statement signed by fewer than k offline keys', async () => {
    const res = await uploadSigned('router-x', '1.0', image, statementHeaders(statementFor(vendor, image, { model: 'router-x', version: '1.0' }, [k1])));
    expect(res.status).toBe(422);
    expect((await errorOf(res)).message).toMatch(/1 valid signature\(s\) from trusted keys, 2 required/);
  });

  it('refuses an expired statement', async () => {
    const expired = statementFor(vendor, image, { model: 'router-x', version: '1.0', expires: new Date(Date.now() - 1000).toISOString() });
    const res = await uploadSigned('router-x', '1.0', image, statementHeaders(expired));
    expect(res.status).toBe(422);
    expect((await errorOf(res)).message).toMatch(/expired/);
  });

  it('refuses a statement for another image once the bytes are in, and keeps no build', async () => {
    const other = statementFor(vendor, pseudoRandom(30_000, 'other'), { model: 'router-x', version: '1.0' });
    const res = await uploadSigned('router-x', '1.0', image, statementHeaders(other));
    expect(res.status).toBe(422);
    expect((await errorOf(res)).message).toMatch(/is not the one the target statement signs/);
    expect(await selectRows(server.ctx.db, "select id from builds where version = '1.0'")).toEqual([]);
  });

  it('refuses a statement for another version, and a malformed header', async () => {
    const res = await uploadSigned('router-x', '1.0', image, statementHeaders(statementFor(vendor, image, { model: 'router-x', version: '9.9' })));
    expect(res.status).toBe(422);
    expect((await uploadSigned('router-x', '1.0', image, { 'fota-target-statement': '%%%' })).status).toBe(400);
    expect((await uploadSigned('router-x', '1.0', image, { 'fota-target-statement': Buffer.from('{"signed":1}').toString('base64url') })).status).toBe(400);
  });

  it('accepts a valid statement and embeds it in every package (formatVersion 2), still signed by the server', async () => {
    const statement = statementFor(vendor, image, { model: 'router-x', version: '1.0', securityVersion: 2 });
    const res = await uploadSigned('router-x', '1.0', image, statementHeaders(statement));
    expect(res.status, await res.clone().text()).toBe(202);
    const built = await server.settled(((await res.json()) as { id: string }).id);
    expect(built.status).toBe('ready');
    const next = pseudoRandom(30_000, 'signed-1.0').fill(7, 100, 200);
    const res2 = await uploadSigned('router-x', '1.1', next, statementHeaders(statementFor(vendor, next, { model: 'router-x', version: '1.1', securityVersion: 2 })));
    const built2 = await server.settled(((await res2.json()) as { id: string }).id);
    expect(built2.packages.map((p) => p.kind).sort()).toEqual(['bsdiff40', 'full']);
    for (const p of built2.packages) {
      const envelope = (await (await server.api(`/api/v1/packages/${p.id}`, { token: server.tokens.operator })).json()) as { signed: unknown; signatures: Array<{ keyid: string }> };
      const manifest = manifestSchema.parse(envelope.signed);
      expect(manifest.formatVersion).toBe(2);
      expect(manifest.offline?.target.signed).toMatchObject({ model: 'router-x', version: '1.1', sha256: manifest.target.sha256 });
      expect(manifest.offline?.roots.map((r) => r.signed.version)).toEqual([1]);
      expect(manifest.target.securityVersion).toBe(2);
      expect(vendor.keys.map((k) => k.keyid)).not.toContain(envelope.signatures[0]?.keyid);
    }
  });

  it('stops counting a key revoked on the server, and audits it', async () => {
    const res = await post(`/api/v1/manufacturers/acme/offline-keys/${k2.keyid}/revoke`, server.tokens.admin, {});
    expect(res.status).toBe(200);
    expect(((await res.json()) as { keys: Array<{ keyid: string; status: string }> }).keys.find((k) => k.keyid === k2.keyid)?.status).toBe('revoked');
    const img = pseudoRandom(20_000, '1.2');
    const refused = await uploadSigned('router-x', '1.2', img, statementHeaders(statementFor(vendor, img, { model: 'router-x', version: '1.2' }, [k1, k2])));
    expect(refused.status).toBe(422);
    const accepted = await uploadSigned('router-x', '1.2', img, statementHeaders(statementFor(vendor, img, { model: 'router-x', version: '1.2' }, [k1, k3])));
    expect(accepted.status).toBe(202);
    await server.settled(((await accepted.json()) as { id: string }).id);
    expect(await selectRows(server.ctx.db, "select subject from audit_events where action = 'offline-key.revoke'")).toEqual([{ subject: k2.keyid }]);
    expect((await post(`/api/v1/manufacturers/acme/offline-keys/${'0'.repeat(64)}/revoke`, server.tokens.acme, {})).status).toBe(404);
  });

  it('registers a rotation signed by the old threshold, and refuses one that is not', async () => {
    const k4 = offlineVendor('acme', 1, 1).keys[0];
    if (!k4) throw new Error('no key');
    const forged = signRoot({ manufacturer: 'acme', version: 2, threshold: 1, keys: [rootKeyOf(k4)] }, [k4]);
    const refused = await post('/api/v1/manufacturers/acme/offline-keys', server.tokens.acme, forged);
    expect(refused.status).toBe(422);
    expect((await errorOf(refused)).message).toMatch(/not signed by the keys of version 1/);
    const v2 = signRoot({ manufacturer: 'acme', version: 2, threshold: 2, keys: [k1, k3, k4].map(rootKeyOf) }, [k1, k3, k4]);
    const res = await post('/api/v1/manufacturers/acme/offline-keys', server.tokens.acme, v2);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ rootVersion: 2, roots: [{ signed: { version: 1 } }, { signed: { version: 2 } }] });
  });

  it('lets a manufacturer without offline keys upload as before (formatVersion 1)', async () => {
    const built = await server.upload('globex-box', '1.0', pseudoRandom(10_000, 'g'), server.tokens.globex);
    const envelope = (await (await server.api(`/api/v1/packages/${built.packages[0]?.id}`, { token: server.tokens.operator })).json()) as { signed: { formatVersion: number } };
    expect(envelope.signed.formatVersion).toBe(1);
  });
});

describe('offline secret keys', () => {
  it('never reach the database, the logs or the artifacts', async () => {
    const forms = vendor.keys.flatMap(secretForms);
    const tables = Object.values(schema).filter((t) => typeof t === 'object' && t !== null && Symbol.for('drizzle:IsDrizzleTable') in t);
    let dump = '';
    for (const table of tables) dump += JSON.stringify(await selectRows(server.ctx.db, `select * from ${getTableConfig(table as Parameters<typeof getTableConfig>[0]).name}`));
    expect(dump).toContain(vendor.keys[0]?.keyid); // the public half is there: the dump is real
    const logs = captured.lines().join('\n');
    expect(logs.length).toBeGreaterThan(0);
    for (const form of forms) {
      expect(dump).not.toContain(form);
      expect(logs).not.toContain(form);
    }
    const raw = vendor.keys.map((k) => Buffer.from(k.secretKey).subarray(0, 32));
    for (const dir of [server.ctx.config.artifactsDir, server.ctx.config.dataDir]) {
      for (const file of await filesUnder(dir)) {
        const bytes = await readFile(file);
        for (const secret of raw) expect(bytes.includes(secret), file).toBe(false);
        for (const form of forms) expect(bytes.includes(Buffer.from(form)), file).toBe(false);
      }
    }
  });
});

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}
