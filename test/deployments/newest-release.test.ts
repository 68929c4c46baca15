// Which release a device that asks for an update gets: the newest by version (numeric
// dot-separated segments, builds/version-order.ts), not the build uploaded last. A hotfix
// for an older line uploaded after a newer version is never offered over it, nor to a
// device already past it. Through the API and real DM sessions (the independent test
// client plays the devices); the ordering itself also on its own, hostile strings too.
import { beforeAll, describe, expect, it } from 'vitest';
import { compareVersions, isNewerThan, newestOf, versionSegments } from '../../src/builds/version-order.ts';
import { alertXml, DmTestClient } from '../support/dm-test-client.ts';
import { nextBuild, pseudoRandom } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('version order', () => {
  it.each([
    ['1.10', '1.9', 1],
    ['1.9', '1.10', -1],
    ['2.0', '2.0.0', 0],
    ['v2.1', '2.0.9', 1],
    ['1.01', '1.1', 0],
    ['10.0', '9.99.99', 1],
    [`1.${'9'.repeat(40)}`, `1.${'9'.repeat(39)}`, 1],
  ])('compares %s with %s as %i', (a, b, sign) => {
    expect(Math.sign(compareVersions(a, b) ?? Number.NaN)).toBe(sign);
  });

  it.each(['2.0-rc1', '2024a', '', '.', '1..2', '1.', '-1', '0x10', '1e3', '１.０', '1.0 beta', 'v', `${'1.'.repeat(16)}1`, '9'.repeat(41), 'x'.repeat(100_000)])('cannot order %j by its text', (version) => {
    expect(versionSegments(version)).toBeUndefined();
    expect(compareVersions(version, '1.0')).toBeUndefined();
  });

  it('falls back on build time for versions it cannot order or that are equal', () => {
    const old = { version: '2.0-rc1', createdAt: 1 };
    const late = { version: '2.0-rc2', createdAt: 2 };
    expect(isNewerThan(late, old.version, old)).toBe(true);
    expect(isNewerThan(old, late.version, late)).toBe(false);
    expect(isNewerThan({ version: '2.0.0', createdAt: 5 }, '2.0', { version: '2.0', createdAt: 4 })).toBe(true);
    // A device on a version the server has no build of: by version if it can, else offered.
    expect(isNewerThan({ version: '2.0', createdAt: 9 }, '3.0', undefined)).toBe(false);
    expect(isNewerThan({ version: '2.0', createdAt: 9 }, 'custom', undefined)).toBe(true);
    expect(newestOf([{ version: '1.9.1', createdAt: 3 }, { version: '2.0', createdAt: 2 }, { version: '1.10', createdAt: 1 }], (b) => b)?.version).toBe('2.0');
  });
});

describe('the release a device asking for an update gets', () => {
  const MODEL = 'rel-order';
  const FUMO = './FUMO/fota';
  const DEVICE_REQUEST = 'org.openmobilealliance.dm.firmwareupdate.devicerequest';
  let server: TestServer;
  let count = 0;

  beforeAll(async () => {
    server = await startTestServer();
    const v1 = pseudoRandom(20_000, 'rel-order-1.0');
    const v110 = nextBuild(v1);
    // Uploaded in this order: 1.0, then 1.10, then a late 1.9.1 hotfix of the older line.
    const ids: string[] = [];
    for (const [version, image] of [['1.0', v1], ['1.10', v110], ['1.9.1', nextBuild(v110)]] as const) {
      const build = await server.upload(MODEL, version, image);
      expect(build.status).toBe('ready');
      ids.push(build.id);
    }
    for (const buildId of ids.slice(1)) {
      const res = await server.api('/api/v1/releases', { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ buildId }) });
      expect(res.status, await res.clone().text()).toBe(201);
    }
  }, 120_000);

  /** A device on `version` asks once; what the server recorded it was told. */
  async function ask(version: string): Promise<{ outcome: string; version?: string; reason?: string }> {
    const id = `REL-${++count}`;
    const res = await server.api('/api/v1/devices', {
      method: 'POST',
      token: server.tokens.operator,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id, model: MODEL, firmwareVersion: version, credentials: { username: id, password: 'device-password' } }),
    });
    expect(res.status).toBe(201);
    const client = new DmTestClient({ url: `${server.url}/dm`, devId: id, username: id, password: 'device-password', tree: { './DevDetail/FwV': version, './DevDetail/SwV': '1', './DevDetail/HwV': 'A' } });
    await client.session({ extra: [alertXml('1226', [{ source: FUMO, type: DEVICE_REQUEST, format: 'chr' }])] });
    const audit = await server.api(`/api/v1/audit?subject=${id}&action=device.update-request`, { token: server.tokens.operator });
    const [event] = ((await audit.json()) as { items: Array<{ details: { outcome: string; version?: string; reason?: string } }> }).items;
    if (!event) throw new Error(`no request recorded for ${id}`);
    return event.details;
  }

  it('is 1.10 for a device on 1.0, though 1.9.1 was uploaded after it', async () => {
    expect(await ask('1.0')).toMatchObject({ outcome: 'commanded', version: '1.10' });
  });

  it('is 1.10 for a device on the 1.9.1 hotfix', async () => {
    expect(await ask('1.9.1')).toMatchObject({ outcome: 'commanded', version: '1.10' });
  });

  it('is nothing for a device on 1.10: the later upload 1.9.1 is older', async () => {
    expect(await ask('1.10')).toMatchObject({ outcome: 'none', reason: 'update requested by device: nothing newer than 1.10 released for cohort' });
  });

  it('is nothing for a device on a version newer than any build the server has', async () => {
    expect(await ask('3.0')).toMatchObject({ outcome: 'none', reason: 'update requested by device: nothing newer than 3.0 released for cohort' });
  });
});
