// SCOMO inside real DM sessions with the reference agent: an operator's two-step install
// (Download, then Install from ./SCOMO/Inventory/Delivered), deactivate and activate, and a
// hostile device: inventory values that break the rules, and OperationComplete alerts for
// deployments that are not its own. On SQLite and PostgreSQL.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DeviceAgent } from '../../src/device/agent.ts';
import { parseTrust } from '../../src/device/trust.ts';
import type { TrustPolicy } from '../../src/signing/envelope.ts';
import { pseudoRandom, tempDir } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const MODEL = 'scomo-session-phone';
let server: TestServer;
let trust: TrustPolicy;
const notes = pseudoRandom(30_000, 'notes-1');

interface Apps {
  components: Array<{ component: string; version: string; state: string; name?: string }>;
  deployments: Array<{ id: string; operation: string; state: string; resultCode: number | null; history: Array<{ cause: string }> }>;
}

const operator = (path: string, body?: unknown) =>
  server.api(path, { token: server.tokens.operator, ...(body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
const appsOf = async (id: string) => (await (await operator(`/api/v1/devices/${id}/apps`)).json()) as Apps;

beforeAll(async () => {
  server = await startTestServer();
  const res = await server.api(`/api/v1/apps?model=${MODEL}&component=com.acme.notes&version=1.0`, { method: 'POST', token: server.tokens.acme, body: notes, headers: { 'content-type': 'application/octet-stream' } });
  expect(res.status).toBe(201);
  // A second model with a baseline: its devices' inventories are read in every session.
  const other = await server.api(`/api/v1/apps?model=${MODEL}-b&component=com.acme.notes&version=1.0`, { method: 'POST', token: server.tokens.acme, body: notes, headers: { 'content-type': 'application/octet-stream' } });
  expect(other.status).toBe(201);
  const baseline = await server.api(`/api/v1/baselines/${MODEL}-b`, { method: 'PUT', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apps: [], forbidden: ['com.never.seen'] }) });
  expect(baseline.status).toBe(200);
  trust = parseTrust(await (await operator('/api/v1/manufacturers/acme/keys')).text(), 'keys');
});

async function agent(id: string, model = MODEL, encoding: 'xml' | 'wbxml' = 'xml'): Promise<DeviceAgent> {
  expect((await operator('/api/v1/devices', { id, model, credentials: { username: id, password: 'device-password' } })).status).toBe(201);
  const dir = tempDir();
  await writeFile(join(dir, 'fw.img'), pseudoRandom(4_000, 'fw'));
  return DeviceAgent.open({ serverUrl: server.url, devId: id, model, username: id, password: 'device-password', dataDir: join(dir, 'device'), image: join(dir, 'fw.img'), version: '1.0', trust, encoding });
}

describe('SCOMO over DM', () => {
  it('installs in two steps, then deactivates and activates the component', async () => {
    const device = await agent('scomo-two-step');
    const made = await operator('/api/v1/devices/scomo-two-step/apps', { operation: 'install', component: 'com.acme.notes', version: '1.0', mode: 'twoStep' });
    expect(made.status).toBe(201);
    const run = await device.runOnce();
    expect(run.apps.map((a) => `${a.operation} ${a.resultCode}`)).toEqual(['Download 1200', 'Install 1200']);
    let apps = await appsOf('scomo-two-step');
    expect(apps.components).toEqual([expect.objectContaining({ component: 'com.acme.notes', version: '1.0', state: 'active' })]);
    expect(apps.deployments[0]).toMatchObject({ state: 'succeeded', resultCode: 1200 });
    expect(apps.deployments[0]?.history.map((h) => h.cause)).toEqual(expect.arrayContaining([expect.stringContaining('the Install Exec follows')]));

    expect((await operator('/api/v1/devices/scomo-two-step/apps', { operation: 'deactivate', component: 'com.acme.notes' })).status).toBe(201);
    expect((await device.runOnce()).apps.map((a) => `${a.operation} ${a.resultCode}`)).toEqual(['Deactivate 1200']);
    apps = await appsOf('scomo-two-step');
    expect(apps.components[0]?.state).toBe('inactive');
    expect((await operator('/api/v1/devices/scomo-two-step/apps', { operation: 'activate', component: 'com.acme.notes' })).status).toBe(201);
    await device.runOnce();
    expect((await appsOf('scomo-two-step')).components[0]?.state).toBe('active');
  });

  it('speaks SCOMO in WBXML too: the inventory, the install and its OperationComplete report', async () => {
    const device = await agent('scomo-wbxml', MODEL, 'wbxml');
    await device.scomo.preinstall('old', { id: 'com.acme.old', version: '0.1' }, pseudoRandom(1000, 'old'));
    expect((await operator('/api/v1/devices/scomo-wbxml/apps', { operation: 'install', component: 'com.acme.notes', version: '1.0' })).status).toBe(201);
    const run = await device.runOnce();
    expect(run.apps.map((a) => `${a.operation} ${a.resultCode}`)).toEqual(['DownloadInstall 1200']);
    const apps = await appsOf('scomo-wbxml');
    expect(apps.components.map((c) => `${c.component} ${c.version}`).sort()).toEqual(['com.acme.notes 1.0', 'com.acme.old 0.1']);
    expect(apps.deployments[0]).toMatchObject({ state: 'succeeded', resultCode: 1200 });
  });

  it('keeps what breaks the rules out of the inventory, and ignores alerts for deployments that are not the device’s own', async () => {
    const victim = await agent('scomo-victim');
    const made = await operator('/api/v1/devices/scomo-victim/apps', { operation: 'install', component: 'com.acme.notes', version: '1.0' });
    const { id } = (await made.json()) as { id: string };
    const attacker = await agent('scomo-attacker', `${MODEL}-b`);
    const root = './SCOMO/Inventory/Deployed';
    Object.assign(attacker.tree.values, {
      [`${root}/evil/ID`]: '<script>alert(1)</script>',
      [`${root}/evil/Version`]: '1',
      [`${root}/sql/ID`]: 'com.ok',
      [`${root}/sql/Version`]: "1'; DROP TABLE devices;--",
      [`${root}/big/ID`]: 'com.big',
      [`${root}/big/Version`]: '1.0',
      [`${root}/big/Name`]: 'n'.repeat(20_000),
    });
    // A forged report for the victim's deployment (its correlator guessed), and garbage.
    attacker.scomo.state.reports.push({ execUri: `./SCOMO/Download/${id}/Operations/DownloadInstall`, correlator: `${id}.1`, resultCode: 1405, identifier: 'x' }, { execUri: './SCOMO/x', correlator: 'nonsense', resultCode: 1200, identifier: 'y' });
    const run = await attacker.runOnce();
    expect(run.sessions).toBeGreaterThan(0);
    const apps = await appsOf('scomo-attacker');
    expect(apps.components).toEqual([{ node: 'big', component: 'com.big', version: '1.0', state: 'active', name: 'n'.repeat(200) }]);
    // The attacker's inventory never reaches its device inventory; the victim's deployment is untouched.
    const device = (await (await operator('/api/v1/devices/scomo-attacker')).json()) as { inventory: Record<string, unknown> };
    expect(Object.keys(device.inventory).filter((k) => k.startsWith('./SCOMO'))).toEqual([]);
    expect((await (await operator(`/api/v1/scomo-deployments/${id}`)).json()) as { state: string }).toMatchObject({ state: 'scheduled', resultCode: null });
    // The victim's own session still installs it.
    await victim.runOnce();
    expect((await (await operator(`/api/v1/scomo-deployments/${id}`)).json()) as { state: string }).toMatchObject({ state: 'succeeded', resultCode: 1200 });
  });

  it('fails an operation the device accepted and never reported, once the deployment timeout has passed', async () => {
    const device = await agent('scomo-forgetful');
    const made = await operator('/api/v1/devices/scomo-forgetful/apps', { operation: 'install', component: 'com.acme.notes', version: '1.0' });
    const { id } = (await made.json()) as { id: string };
    // The device accepts the Exec and then loses the job (a reset before it ran).
    device.scomo.runJobs = async () => {
      device.scomo.state.jobs.length = 0;
      return [];
    };
    await device.runOnce();
    const view = async () => (await (await operator(`/api/v1/scomo-deployments/${id}`)).json()) as { state: string; history: Array<{ cause: string }> };
    expect((await view()).state).toBe('commanded');
    await device.runOnce();
    expect((await view()).state).toBe('commanded');
    server.clock.advance(server.ctx.config.campaigns.defaultTimeoutMs + 1000);
    await device.runOnce();
    const failed = await view();
    expect(failed.state).toBe('failed');
    expect(failed.history.at(-1)?.cause).toMatch(/^no OperationComplete within \d+ minutes/);
  });
});
