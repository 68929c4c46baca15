// The server's side of FUMO over real DM sessions, driven by the independent test client:
// the PkgURL + Exec with a Correlator, Status 202, the result alert, the FwV confirmation,
// retries of transient failures, and alerts that are late, duplicated or unknown.
import { beforeAll, describe, expect, it } from 'vitest';
import { alertXml, DmTestClient } from '../support/dm-test-client.ts';
import { nextBuild, pseudoRandom } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
const builds: Record<string, string> = {};
beforeAll(async () => {
  server = await startTestServer();
  const v1 = pseudoRandom(200_000, 'fumo-v1');
  for (const [version, image] of [['1.0', v1], ['2.0', nextBuild(v1)]] as const) {
    builds[version] = (await server.upload('router-f', version, image)).id;
  }
});

const json = (body: unknown) => ({ method: 'POST', token: server.tokens.operator, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
let devices = 0;

async function device(firmwareVersion: string) {
  const id = `IMEI:FUMO${++devices}`;
  const res = await server.api('/api/v1/devices', json({ id, model: 'router-f', firmwareVersion, credentials: { username: `u${devices}`, password: 'device-password' } }));
  expect(res.status).toBe(201);
  const client = new DmTestClient({ url: `${server.url}/dm`, devId: id, username: `u${devices}`, password: 'device-password', tree: { './DevDetail/FwV': firmwareVersion, './DevDetail/SwV': '1', './DevDetail/HwV': 'A' } });
  return { id, client };
}

async function deploy(deviceId: string, buildVersion = '2.0') {
  const res = await server.api('/api/v1/deployments', json({ deviceId, buildId: builds[buildVersion] }));
  return { status: res.status, body: (await res.json()) as { id: string; packageId: string; error?: { message: string } } };
}

const deployment = async (id: string) => (await (await server.api(`/api/v1/deployments/${id}`, { token: server.tokens.operator })).json()) as { state: string; resultCode: number | null; attempts: number; history: Array<{ state: string; cause: string }>; packageId: string };
const resultAlert = (correlator: string, code: string) => alertXml('1226', [{ source: './FUMO/fota/DownloadAndUpdate', type: 'org.openmobilealliance.dm.firmwareupdate.downloadandupdate', format: 'int', ...(code === '200' ? {} : { mark: 'critical' }), data: code }], correlator);

describe('FUMO over DM sessions', () => {
  it('commands the delta for the device version, then confirms success by the new FwV', async () => {
    const { id, client } = await device('1.0');
    const created = await deploy(id);
    expect(created.status).toBe(201);
    const build = (await (await server.api(`/api/v1/builds/${builds['2.0']}`, { token: server.tokens.operator })).json()) as { packages: Array<{ id: string; kind: string; fromVersion: string | null }> };
    expect(build.packages.find((p) => p.id === created.body.packageId)).toMatchObject({ kind: 'bsdiff40', fromVersion: '1.0' });

    expect((await client.session()).end).toBe('completed');
    const url = client.tree.get('./FUMO/fota/DownloadAndUpdate/PkgURL');
    expect(url).toMatch(new RegExp(`^${server.url}/dl/`));
    expect(await deployment(created.body.id)).toMatchObject({ state: 'commanded', attempts: 1 });

    // The device installs, reboots into 2.0 and reports in a new session.
    client.tree.set('./DevDetail/FwV', '2.0');
    expect((await client.session({ extra: [resultAlert(`${created.body.id}.1`, '200')] })).end).toBe('completed');
    const done = await deployment(created.body.id);
    expect(done).toMatchObject({ state: 'succeeded', resultCode: 200 });
    expect(done.history.map((h) => h.state)).toEqual(['scheduled', 'scheduled', 'commanded', 'installing', 'succeeded']);
    const record = (await (await server.api(`/api/v1/devices/${id}`, { token: server.tokens.operator })).json()) as { firmwareVersion: string };
    expect(record.firmwareVersion).toBe('2.0');

    // A duplicate of the alert changes nothing.
    expect((await client.session({ extra: [resultAlert(`${created.body.id}.1`, '410')] })).end).toBe('completed');
    expect((await deployment(created.body.id)).state).toBe('succeeded');
  });

  it('gives a device on an unknown version the full package', async () => {
    const { id } = await device('0.1');
    const created = await deploy(id);
    const build = (await (await server.api(`/api/v1/builds/${builds['2.0']}`, { token: server.tokens.operator })).json()) as { packages: Array<{ id: string; kind: string }> };
    expect(build.packages.find((p) => p.id === created.body.packageId)?.kind).toBe('full');
  });

  it('fails the deployment with the FUMO result code the device reports', async () => {
    const { id, client } = await device('1.0');
    const created = await deploy(id);
    await client.session();
    await client.session({ extra: [resultAlert(`${created.body.id}.1`, '402')] });
    expect(await deployment(created.body.id)).toMatchObject({ state: 'failed', resultCode: 402 });
  });

  it('retries a transient failure after a backoff, with a new correlator, and ignores the late alert of the first attempt', async () => {
    const { id, client } = await device('1.0');
    const created = await deploy(id);
    await client.session();
    await client.session({ extra: [resultAlert(`${created.body.id}.1`, '503')] });
    expect(await deployment(created.body.id)).toMatchObject({ state: 'scheduled', attempts: 1, resultCode: 503 });
    // Within the backoff (60 s by default) the device is not commanded again.
    await client.session();
    expect(await deployment(created.body.id)).toMatchObject({ state: 'scheduled', attempts: 1 });
    server.clock.advance(61_000);
    // The next session sends attempt 2; a late alert of attempt 1 in it changes nothing.
    await client.session({ extra: [resultAlert(`${created.body.id}.1`, '410')] });
    expect(await deployment(created.body.id)).toMatchObject({ state: 'commanded', attempts: 2 });
    client.tree.set('./DevDetail/FwV', '2.0');
    await client.session({ extra: [resultAlert(`${created.body.id}.2`, '200')] });
    expect((await deployment(created.body.id)).state).toBe('succeeded');
  });

  it('acknowledges alerts for unknown deployments without failing the session', async () => {
    const { client } = await device('1.0');
    const outcome = await client.session({ extra: [resultAlert('dep_nope.1', '200')] });
    expect(outcome.end).toBe('completed');
  });

  it('refuses deployments that cannot run (409) and unknown builds (404)', async () => {
    const current = await device('2.0');
    expect(await deploy(current.id)).toMatchObject({ status: 409, body: { error: { message: expect.stringContaining('already runs 2.0') } } });
    const busy = await device('1.0');
    expect((await deploy(busy.id)).status).toBe(201);
    expect(await deploy(busy.id)).toMatchObject({ status: 409, body: { error: { message: expect.stringContaining('under way') } } });
    const res = await server.api('/api/v1/deployments', json({ deviceId: busy.id, buildId: 'bld_nope' }));
    expect(res.status).toBe(404);
  });
});
