import { beforeAll, describe, expect, it } from 'vitest';
import { checkEnvelope } from '../../src/packages/verify.ts';
import type { Envelope } from '../../src/signing/envelope.ts';
import { pseudoRandom } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { selectRows } from '../support/sql.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});

type KeyView = { keyid: string; publicKey: string; status: string };
const keysOf = async (name: string) => (await (await server.api(`/api/v1/manufacturers/${name}/keys`, { token: server.tokens.operator })).json()) as KeyView[];
const trustFrom = (keys: KeyView[]) => ({ keys: keys.map((k) => ({ keyid: k.keyid, publicKey: new Uint8Array(Buffer.from(k.publicKey, 'base64')), revoked: k.status === 'revoked' })) });

async function packagedEnvelope(version: string) {
  const build = await server.upload('keyed', version, pseudoRandom(2000, version));
  const pkg = build.packages.find((p) => p.kind === 'full');
  return (await (await server.api(`/api/v1/packages/${pkg?.id}`, { token: server.tokens.acme })).json()) as Envelope<Record<string, unknown>>;
}

describe('manufacturer signing keys', () => {
  it('creates a key on first need, keeps the old one valid after rotation, and stops trusting it once revoked', async () => {
    const before = await packagedEnvelope('1.0');
    const [first] = await keysOf('acme');
    expect(first).toMatchObject({ status: 'active', keyid: before.signatures[0]?.keyid });

    const rotated = await server.api('/api/v1/manufacturers/acme/keys/rotate', { method: 'POST', token: server.tokens.acme });
    expect(rotated.status).toBe(200);
    const after = await packagedEnvelope('1.1');
    const keys = await keysOf('acme');
    expect(keys.map((k) => k.status).sort()).toEqual(['active', 'retired']);
    expect(after.signatures[0]?.keyid).not.toBe(first?.keyid);
    // Devices that pin the served keys still accept packages signed before the rotation.
    expect(checkEnvelope(before, trustFrom(keys)).ok).toBe(true);
    expect(checkEnvelope(after, trustFrom(keys)).ok).toBe(true);

    const revoked = await server.api(`/api/v1/manufacturers/acme/keys/${first?.keyid}/revoke`, { method: 'POST', token: server.tokens.admin });
    expect(revoked.status).toBe(200);
    const now = await keysOf('acme');
    expect(now.find((k) => k.keyid === first?.keyid)?.status).toBe('revoked');
    expect(checkEnvelope(before, trustFrom(now))).toMatchObject({ ok: false, resultCode: 404 });
    expect(checkEnvelope(after, trustFrom(now)).ok).toBe(true);
  });

  it("refuses a manufacturer rotating another manufacturer's keys", async () => {
    await packagedEnvelope('2.0');
    const res = await server.api('/api/v1/manufacturers/acme/keys/rotate', { method: 'POST', token: server.tokens.globex });
    expect(res.status).toBe(403);
  });

  it('never serves or stores a secret key in the clear', async () => {
    const served = JSON.stringify(await keysOf('acme'));
    expect(served).not.toMatch(/secret/i);
    const rows = await selectRows(server.ctx.db, 'select public_key, sealed_secret_key from signing_keys') as Array<{ public_key: string; sealed_secret_key: string }>;
    for (const row of rows) expect(Buffer.from(row.sealed_secret_key, 'base64').length).toBe(64 + 16); // secretbox adds a 16-byte tag
  });

  it('answers 404 for an unknown manufacturer', async () => {
    expect((await server.api('/api/v1/manufacturers/nobody/keys', { token: server.tokens.operator })).status).toBe(404);
  });
});
