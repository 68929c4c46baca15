// What happens to provisioning when things go wrong or change, end to end over real HTTP
// with the reference agent: a used device with a new SIM is provisioned again (new
// credentials and the provisioning profile written over what it had); a rotation whose
// Status is lost does not lock the device out (it authenticates with the new credentials,
// which commits them); a device back on its old credentials keeps them and gets the
// rotation again; profile commands a lost session never answered are sent again, and an
// application whose device never answers fails with a reason, counted by its campaign.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CampaignView } from '../../src/campaigns/schemas.ts';
import { type AgentOptions, DeviceAgent } from '../../src/device/agent.ts';
import { DmClient } from '../../src/device/dm-client.ts';
import { DmTree } from '../../src/device/tree.ts';
import type { BatchExport, BatchView } from '../../src/enroll/schemas.ts';
import type { DeviceConfiguration } from '../../src/profiles/schemas.ts';
import { pseudoRandom, tempDirFor } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const MODEL = 'meter-reprov';
const AUTH = './DMAcc/fota/AppAuth/ClientSide';
const INTERVAL = './Vendor/Telemetry/IntervalSeconds';
const ENABLED = './Vendor/Telemetry/Enabled';
let server: TestServer;
let dir: string;
let image: string;

beforeAll(async () => {
  dir = tempDirFor('reprov-e2e', afterAll);
  // Every device here calls from 127.0.0.1: no per-address lockout for the refusals below.
  server = await startTestServer({}, { env: { FOTA_DM_ADDRESS_MAX_FAILURES: '0' } });
  image = join(dir, 'v1.bin');
  await writeFile(image, pseudoRandom(4096, 'reprov-v1'));
  // The model's provisioning profile: what every device gets at first contact.
  await post('/api/v1/profiles', {
    name: 'meter-baseline',
    model: MODEL,
    provisioning: true,
    operations: [
      { command: 'Add', uri: ENABLED, data: 'true', format: 'bool' },
      { command: 'Replace', uri: INTERVAL, data: '900', format: 'int' },
    ],
  });
}, 60_000);

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await server.api(path, { method, token: server.tokens.operator, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}
const post = <T>(path: string, body: unknown) => call<T>('POST', path, body);
const get = <T>(path: string) => call<T>('GET', path);

async function batchWithFiles(body: Record<string, unknown>, into: string): Promise<{ batch: BatchView; files: Map<string, string>; rows: string[][] }> {
  const batch = await post<BatchView>('/api/v1/enrollments', { model: MODEL, ...body });
  const exported = await post<BatchExport>(`/api/v1/enrollments/${batch.id}/export`, {});
  const files = new Map<string, string>();
  for (const f of exported.files) {
    const path = join(dir, into, f.path);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, f.encoding === 'base64' ? Buffer.from(f.content, 'base64') : f.content);
    files.set(f.path, path);
  }
  const rows = (exported.files[0]?.content ?? '').trim().split('\n').slice(1).map((line) => line.split(','));
  return { batch, files, rows };
}

function open(devId: string, bootstrap: string, dataDir: string, extra: Partial<AgentOptions> = {}): Promise<DeviceAgent> {
  return DeviceAgent.open({ devId, model: MODEL, bootstrap, dataDir: join(dir, 'devices', dataDir), image, version: '1.0', trust: { keys: [] }, ...extra });
}

async function actions(subject: string): Promise<string[]> {
  const page = await get<{ items: Array<{ action: string }> }>(`/api/v1/audit?subject=${encodeURIComponent(subject)}&limit=200`);
  return page.items.map((e) => e.action);
}
const count = (list: string[], action: string) => list.filter((a) => a === action).length;

/** A session with these credentials, as a second unit holding them would open it. */
function sessionWith(devId: string, username: string, password: string): Promise<unknown> {
  const client = new DmClient({ serverUrl: `${server.url}/dm`, devId, username, password });
  const fixed = { './DevInfo/DevId': { data: devId, format: 'chr' as const }, './DevInfo/Mod': { data: MODEL, format: 'chr' as const } };
  return client.session({ tree: new DmTree(() => fixed, {}), exec: () => 406 });
}

describe('a used device with a new SIM', () => {
  it('gets new credentials and the provisioning profile again, overriding what it had; the old credentials stop working', async () => {
    const { batch, files, rows } = await batchWithFiles({ name: 'sim lot', count: 1, subscriberNode: './DevDetail/Ext/IMSI' }, 'export-sim');
    const id = rows[0]?.[0] ?? '';
    const file = files.get(rows[0]?.[8] ?? '') ?? '';
    const agentWith = (imsi: string) => open(id, file, 'sim-device', { imsi });
    const first = await agentWith('262011234567890');
    await first.runOnce();
    expect(first.tree.get(INTERVAL)).toEqual({ status: 200, value: { data: '900', format: 'chr' } });
    expect(count(await actions(id), 'device.provisioning-confirmed')).toBe(1);

    // The operator changes a setting the profile set; the device takes it.
    await post(`/api/v1/devices/${encodeURIComponent(id)}/operations`, { command: 'Replace', uri: INTERVAL, data: '60' });
    await first.runOnce();
    expect(first.tree.get(INTERVAL)).toEqual({ status: 200, value: { data: '60', format: 'chr' } });
    const secretBefore = first.snapshot().values[`${AUTH}/AAuthSecret`] ?? '';

    // A new SIM: in one session, new credentials and the profile written again.
    const moved = await agentWith('262029999999999');
    await moved.runOnce();
    expect(moved.snapshot().values[`${AUTH}/AAuthSecret`]).not.toBe(secretBefore);
    expect(moved.tree.get(INTERVAL)).toEqual({ status: 200, value: { data: '900', format: 'chr' } });
    const history = await actions(id);
    expect(count(history, 'enroll.reprovisioned')).toBe(1);
    expect(count(history, 'device.provisioning-confirmed')).toBe(2);
    const config = await get<DeviceConfiguration>(`/api/v1/devices/${encodeURIComponent(id)}/configuration`);
    expect(config.values).toContainEqual(expect.objectContaining({ uri: INTERVAL, value: '900' }));
    // Newest first: the second provisioning, every Status 2xx; its Add went as a Replace (the node exists).
    expect(config.applications.filter((a) => a.reason === 'provisioning').map((a) => a.state)).toEqual(['succeeded', 'succeeded']);
    expect(config.applications[0]?.statuses.filter((s) => s.role === 'operation')).toEqual([
      expect.objectContaining({ command: 'Replace', uri: ENABLED, status: 200 }),
      expect.objectContaining({ command: 'Replace', uri: INTERVAL, status: 200 }),
    ]);

    // The new credentials open the next session, which provisions nothing again; the old ones are refused.
    await expect(moved.runOnce()).resolves.toMatchObject({ sessions: 1 });
    const after = await actions(id);
    expect(count(after, 'enroll.reprovisioned')).toBe(1);
    expect(count(after, 'device.provisioning-confirmed')).toBe(2);
    await expect(sessionWith(id, id, secretBefore)).rejects.toThrow(/Status 401/);
    expect((await get<BatchView>(`/api/v1/enrollments/${batch.id}`)).devices.enrolled).toBe(1);
  }, 60_000);
});

describe('a rotation whose Status is lost', () => {
  let files: Map<string, string>;
  const claimFile = (id: string) => files.get(`devices/${id.replace(':', '_')}.dm.wbxml`) ?? '';

  beforeAll(async () => {
    ({ files } = await batchWithFiles({ name: 'lost status lot', deviceIds: ['SN:L1', 'SN:L2'], claim: { name: 'claim-lost' } }, 'export-lost'));
  }, 60_000);

  it('does not lock the device out: it authenticates with the new credentials, which commits them; the claim then no longer works', async () => {
    const a = await open('SN:L1', claimFile('SN:L1'), 'L1', { failures: { loseRotationStatus: true } });
    await a.runOnce();
    // The device holds its own credentials; the server never saw their Status.
    expect(a.snapshot().values[`${AUTH}/AAuthName`]).toBe('SN:L1');
    expect(await actions('SN:L1')).not.toContain('enroll.claimed');
    // Its next session opens with them, and that commits the rotation.
    await expect(a.runOnce()).resolves.toMatchObject({ sessions: 1 });
    const claimed = (await get<{ items: Array<{ action: string; details: Record<string, unknown> }> }>('/api/v1/audit?subject=SN%3AL1&limit=100')).items.find((e) => e.action === 'enroll.claimed');
    expect(claimed?.details).toMatchObject({ confirmedBy: 'authentication', rotations: 1 });
    await expect(a.runOnce()).resolves.toMatchObject({ sessions: 1 });
    // The claim no longer opens a session for this device.
    const flashedAgain = await open('SN:L1', claimFile('SN:L1'), 'L1-again');
    await expect(flashedAgain.runOnce()).rejects.toThrow(/Status 401/);
    // The provisioning profile reached it too.
    expect(a.tree.get(INTERVAL)).toEqual({ status: 200, value: { data: '900', format: 'chr' } });
  }, 60_000);

  it('a device that also did not keep them comes back on the claim: it keeps it, the rotation is sent again, and the unconfirmed credentials never work', async () => {
    const a = await open('SN:L2', claimFile('SN:L2'), 'L2', { failures: { loseRotationStatus: true, loseNewCredentials: true } });
    await a.runOnce();
    expect(a.snapshot().values[`${AUTH}/AAuthName`]).toBe('claim-lost');
    // Back on the claim: it still opens a session, and this time the rotation gets through.
    await a.runOnce();
    const history = await actions('SN:L2');
    expect(history).toContain('enroll.rotation-unconfirmed');
    expect(count(history, 'enroll.claimed')).toBe(1);
    expect(a.snapshot().values[`${AUTH}/AAuthName`]).toBe('SN:L2');
    await expect(a.runOnce()).resolves.toMatchObject({ sessions: 1 });
  }, 60_000);

  it('a device that lost the credentials it acknowledged is locked out (its Status said it kept them) until an operator resets it', async () => {
    const { files: own } = await batchWithFiles({ name: 'lost creds lot', deviceIds: ['SN:L3'], claim: { name: 'claim-lost-3' } }, 'export-lost-3');
    const a = await open('SN:L3', own.get('devices/SN_L3.dm.wbxml') ?? '', 'L3', { failures: { loseNewCredentials: true } });
    await a.runOnce();
    expect(await actions('SN:L3')).toContain('enroll.claimed');
    await expect(a.runOnce()).rejects.toThrow(/Status 401/);
    // The operator resets it: its own fresh bootstrap file, flashed again, opens sessions.
    const reset = await post<BatchExport>('/api/v1/enrollments/devices/SN%3AL3/reset', { reason: 'customer ticket: locked out after enrollment' });
    const xml = join(dir, 'reset-L3.cp.xml');
    await writeFile(xml, reset.files.find((f) => f.path === 'devices/SN_L3.cp.xml')?.content ?? '');
    const reflashed = await open('SN:L3', xml, 'L3-reflashed');
    await expect(reflashed.runOnce()).resolves.toMatchObject({ sessions: 1 });
    await expect(reflashed.runOnce()).resolves.toMatchObject({ sessions: 1 });
    expect(await actions('SN:L3')).toEqual(expect.arrayContaining(['enroll.reset', 'enroll.first-contact']));
    // What the unit that lost its secret still holds opens nothing.
    await expect(a.runOnce()).rejects.toThrow(/Status 401/);
  }, 60_000);
});

describe('profile commands a lost session never answered', () => {
  let files: Map<string, string>;
  const fileOf = (id: string) => files.get(`devices/${id.replace(':', '_')}.dm.wbxml`) ?? '';

  beforeAll(async () => {
    ({ files } = await batchWithFiles({ name: 'dropping lot', deviceIds: ['SN:D1', 'SN:D2', 'SN:D3', 'SN:D4'] }, 'export-drop'));
  }, 60_000);

  it('are sent again at the next session, and the application succeeds', async () => {
    const a = await open('SN:D1', fileOf('SN:D1'), 'D1', { failures: { dropAfterWrites: 1 } });
    await a.runOnce();
    let config = await get<DeviceConfiguration>('/api/v1/devices/SN%3AD1/configuration');
    expect(config.applications).toEqual([expect.objectContaining({ reason: 'provisioning', state: 'queued', attempts: 1 })]);
    await a.runOnce();
    config = await get<DeviceConfiguration>('/api/v1/devices/SN%3AD1/configuration');
    expect(config.applications).toEqual([expect.objectContaining({ reason: 'provisioning', state: 'succeeded', attempts: 2, failureReason: null })]);
    const history = await actions('SN:D1');
    expect(count(history, 'device.profile-resent')).toBe(1);
    expect(count(history, 'device.provisioning-confirmed')).toBe(1);
  }, 60_000);

  it('fail after three sends with a reason the operator reads', async () => {
    const a = await open('SN:D2', fileOf('SN:D2'), 'D2', { failures: { dropAfterWrites: 10 } });
    for (let i = 0; i < 3; i++) await a.runOnce();
    expect((await get<DeviceConfiguration>('/api/v1/devices/SN%3AD2/configuration')).applications[0]).toMatchObject({ state: 'queued', attempts: 3 });
    await a.runOnce();
    const [application] = (await get<DeviceConfiguration>('/api/v1/devices/SN%3AD2/configuration')).applications;
    expect(application).toMatchObject({ reason: 'provisioning', state: 'failed', failureCode: 408, attempts: 3 });
    expect(application?.failureReason).toMatch(/never answered 4 of its commands after 3 attempts/);
    const failed = (await get<{ items: Array<{ action: string; details: Record<string, unknown> }> }>('/api/v1/audit?subject=SN%3AD2&limit=100')).items.find((e) => e.action === 'device.provisioning-failed');
    expect(failed?.details).toMatchObject({ failureCode: 408, failureReason: application?.failureReason });
  }, 60_000);

  it('count as a failure in a configuration campaign once given up on; a device that dropped once succeeds', async () => {
    // Both provisioned first, then the campaign's Replace.
    const steady = await open('SN:D3', fileOf('SN:D3'), 'D3');
    await steady.runOnce();
    const flaky = await open('SN:D4', fileOf('SN:D4'), 'D4');
    await flaky.runOnce();
    await post('/api/v1/profiles', { name: 'meter-interval', model: MODEL, operations: [{ command: 'Replace', uri: INTERVAL, data: '300', format: 'int' }] });
    const { id } = await post<{ id: string }>('/api/v1/campaigns', { name: 'interval 300', profile: 'meter-interval@1', cohort: { deviceIds: ['SN:D3', 'SN:D4'] }, stages: [{ percent: 100 }], successThreshold: 0.5, failureThreshold: 0.9, minSample: 1 });
    await post(`/api/v1/campaigns/${id}/start`, {});
    // D3 drops its session once after the Replace (sent again, it succeeds); D4 every time.
    const once = await open('SN:D3', fileOf('SN:D3'), 'D3', { failures: { dropAfterWrites: 1 } });
    const lossy = await open('SN:D4', fileOf('SN:D4'), 'D4', { failures: { dropAfterWrites: 10 } });
    await once.runOnce();
    await server.campaigns.idle();
    expect((await get<CampaignView>(`/api/v1/campaigns/${id}`)).totals).toMatchObject({ commanded: 1, succeeded: 0 });
    await once.runOnce();
    for (let i = 0; i < 4; i++) await lossy.runOnce();
    await server.campaigns.idle();
    const v = await get<CampaignView>(`/api/v1/campaigns/${id}`);
    expect(v.state).toBe('completed');
    expect(v.totals).toMatchObject({ succeeded: 1, failed: 1, commanded: 0 });
    expect(v.stages[0]?.failures).toEqual({ '408': 1 });
    expect(once.tree.get(INTERVAL)).toEqual({ status: 200, value: { data: '300', format: 'chr' } });
    expect((await get<DeviceConfiguration>('/api/v1/devices/SN%3AD3/configuration')).applications[0]).toMatchObject({ reason: 'campaign', state: 'succeeded', attempts: 2 });
  }, 60_000);
});
