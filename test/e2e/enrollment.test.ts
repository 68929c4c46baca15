// Enrollment end to end, over real HTTP: an operator creates a batch of devices that
// share a claim credential and takes its one export; each device is flashed with its
// bootstrap file alone (the reference agent, no other configuration), and its first DM
// session replaces the claim with credentials of its own. Afterwards the claim opens no
// session for those devices, the new credentials do, a device that lost them is locked
// out, a device of the wrong model or outside the batch is refused and changes nothing,
// and a used device with a new SIM (IMSI) is provisioned again. The same with 100 devices,
// followed by their provisioning profile and a configuration campaign, is the fleet story
// of test/e2e/configuration-campaign.test.ts; test/e2e/reprovisioning.test.ts has the
// lost Statuses and what a re-provisioning writes.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentOptions, DeviceAgent } from '../../src/device/agent.ts';
import { DmClient } from '../../src/device/dm-client.ts';
import { DmTree } from '../../src/device/tree.ts';
import type { BatchExport, BatchView } from '../../src/enroll/schemas.ts';
import { readDmBootstrap } from '../../src/omadm/provisioning/dm-bootstrap.ts';
import { pseudoRandom, tempDirFor } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const MODEL = 'meter-enroll';
let server: TestServer;
let dir: string;
let image: string;

beforeAll(async () => {
  dir = tempDirFor('enroll-e2e', afterAll);
  // Every device here calls from 127.0.0.1: the per-address failure limit (meant for one
  // attacker's address) would lock them all out after the claims refused below.
  server = await startTestServer({}, { env: { FOTA_DM_ADDRESS_MAX_FAILURES: '0' } });
  image = join(dir, 'v1.bin');
  await writeFile(image, pseudoRandom(4096, 'enroll-v1'));
}, 60_000);

async function call(path: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<Response> {
  return server.api(path, {
    method: init.method ?? 'GET',
    token: init.token ?? server.tokens.operator,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body), headers: { 'content-type': 'application/json' } }),
  });
}

async function createBatch(body: unknown): Promise<BatchView> {
  const res = await call('/api/v1/enrollments', { method: 'POST', body });
  const text = await res.text();
  expect(res.status, text).toBe(201);
  return JSON.parse(text) as BatchView;
}

/** Takes the batch's export and writes it as the CLI does: a directory of files. */
async function exportTo(batchId: string, into: string): Promise<{ manifest: string[][]; files: Map<string, string> }> {
  const res = await call(`/api/v1/enrollments/${batchId}/export`, { method: 'POST' });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  const body = JSON.parse(text) as BatchExport;
  const files = new Map<string, string>();
  for (const f of body.files) {
    const path = join(into, f.path);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, f.encoding === 'base64' ? Buffer.from(f.content, 'base64') : f.content);
    files.set(f.path, path);
  }
  const manifest = (body.files[0]?.content ?? '').trim().split('\n').map((line) => line.split(','));
  return { manifest, files };
}

function agent(devId: string, bootstrap: string, extra: Partial<AgentOptions> = {}): Promise<DeviceAgent> {
  return DeviceAgent.open({ devId, model: MODEL, bootstrap, dataDir: join(dir, 'devices', devId.replace(/[^A-Za-z0-9]/g, '_'), String(Math.random()).slice(2)), image, version: '1.0', trust: { keys: [] }, ...extra });
}

async function batchNow(id: string): Promise<BatchView> {
  return (await (await call(`/api/v1/enrollments/${id}`)).json()) as BatchView;
}

async function audit(subject: string): Promise<Array<{ action: string; details: Record<string, unknown> }>> {
  return ((await (await call(`/api/v1/audit?subject=${encodeURIComponent(subject)}&limit=100`)).json()) as { items: Array<{ action: string; details: Record<string, unknown> }> }).items;
}

/** Devices of the claim batch here (the 100-device batch is configuration-campaign.test.ts's). */
const BATCH = 20;

describe('a batch of devices with a claim credential', () => {
  let batch: BatchView;
  let exported: { manifest: string[][]; files: Map<string, string> };
  const ids = Array.from({ length: BATCH }, (_, i) => `IMEI:35693803564${String(i).padStart(4, '0')}`);
  const agents = new Map<string, DeviceAgent>();

  beforeAll(async () => {
    batch = await createBatch({ name: 'lot 7', model: MODEL, deviceIds: ids, claim: { name: 'claim-lot-7' } });
    exported = await exportTo(batch.id, join(dir, 'export'));
  }, 60_000);

  it('exports a CSV manifest and three bootstrap files per device, all carrying the claim', () => {
    expect(batch.devices).toEqual({ issued: 0, awaitingClaim: BATCH, enrolled: 0 });
    const [header, ...rows] = exported.manifest;
    expect(header).toEqual(['device_id', 'model', 'batch', 'auth_type', 'account_name', 'server_address', 'claim', 'cp_xml', 'cp_wbxml', 'dm_wbxml']);
    expect(rows.map((r) => r[0])).toEqual([...ids].sort());
    expect(rows.every((r) => r[4] === 'claim-lot-7' && r[6] === 'claim-lot-7' && r[5] === `${server.url}/dm`)).toBe(true);
    expect(exported.files.size).toBe(1 + 3 * BATCH);
  });

  it('each device bootstraps from its file alone and its first session replaces the claim with its own credentials', async () => {
    for (const [i, id] of ids.entries()) {
      // A third each: the DM bootstrap message, the CP document in WBXML, and in XML.
      const file = exported.files.get(`devices/${id.replace(':', '_')}.${['dm.wbxml', 'cp.wbxml', 'cp.xml'][i % 3]}`);
      if (!file) throw new Error(`no bootstrap for ${id}`);
      const a = await agent(id, file);
      agents.set(id, a);
      await a.runOnce();
      const values = a.snapshot().values;
      expect(values['./DMAcc/fota/AppAuth/ClientSide/AAuthName']).toBe(id);
      expect(values['./DMAcc/fota/AppAuth/ClientSide/AAuthSecret']).not.toBe(undefined);
    }
    expect((await batchNow(batch.id)).devices).toEqual({ issued: 0, awaitingClaim: 0, enrolled: BATCH });
    const events = await audit(ids[0] ?? '');
    expect(events.map((e) => e.action)).toContain('enroll.claimed');
  }, 240_000);

  it('the next session authenticates with the new secret; the claim is refused for those devices', async () => {
    for (const id of ids.slice(0, 10)) await expect((agents.get(id) as DeviceAgent).runOnce()).resolves.toMatchObject({ sessions: 1 });
    // A second unit flashed with the claim file of an enrolled device is refused.
    const reused = await agent(ids[3] ?? '', exported.files.get(`devices/${(ids[3] ?? '').replace(':', '_')}.dm.wbxml`) ?? '');
    await expect(reused.runOnce()).rejects.toThrow(/refused our credentials \(Status 401\)/);
    // And the claim opens no session for any of them.
    const { account } = readDmBootstrap(await readFile(exported.files.get(`devices/${(ids[0] ?? '').replace(':', '_')}.dm.wbxml`) ?? ''));
    expect(account.client.name).toBe('claim-lot-7');
    for (const id of ids) {
      const client = new DmClient({ serverUrl: account.address, devId: id, username: account.client.name, password: account.client.secret });
      const fixed = { './DevInfo/DevId': { data: id, format: 'chr' as const }, './DevInfo/Mod': { data: MODEL, format: 'chr' as const } };
      await expect(client.session({ tree: new DmTree(() => fixed, {}), exec: () => 406 })).rejects.toThrow(/Status 401/);
    }
    expect((await batchNow(batch.id)).devices.enrolled).toBe(BATCH);
  }, 60_000);
});

describe('bad first contacts change nothing', () => {
  let batch: BatchView;
  let exported: { manifest: string[][]; files: Map<string, string> };

  beforeAll(async () => {
    batch = await createBatch({ name: 'lot 8', model: MODEL, deviceIds: ['SN:A1', 'SN:A2', 'SN:A3'], claim: { name: 'claim-lot-8' } });
    exported = await exportTo(batch.id, join(dir, 'export-8'));
  }, 60_000);

  it('refuses a device of another model with 403 and leaves it on its claim', async () => {
    const a = await agent('SN:A1', exported.files.get('devices/SN_A1.dm.wbxml') ?? '', { model: 'other-model' });
    await expect(a.runOnce()).rejects.toThrow(/Status 403/);
    expect((await batchNow(batch.id)).devices).toEqual({ issued: 0, awaitingClaim: 3, enrolled: 0 });
    expect((await audit('SN:A1')).find((e) => e.action === 'enroll.refused')?.details.reason).toMatch(/reports model "other-model"; batch .* is for meter-enroll/);
    // The right model still enrolls afterwards: the refusal changed nothing.
    await (await agent('SN:A1', exported.files.get('devices/SN_A1.dm.wbxml') ?? '')).runOnce();
    expect((await batchNow(batch.id)).devices.enrolled).toBe(1);
  }, 60_000);

  it('refuses a device that is not in the batch, even with the claim', async () => {
    const a = await agent('SN:NOT-LISTED', exported.files.get('devices/SN_A2.cp.wbxml') ?? '');
    await expect(a.runOnce()).rejects.toThrow(/Status 403/);
    expect((await batchNow(batch.id)).devices.awaitingClaim).toBe(2);
  }, 60_000);

  it('a device that loses its new credentials is locked out; the claim no longer opens it either', async () => {
    const a = await agent('SN:A2', exported.files.get('devices/SN_A2.dm.wbxml') ?? '', { failures: { loseNewCredentials: true } });
    await a.runOnce();
    expect((await batchNow(batch.id)).devices.enrolled).toBe(2);
    await expect(a.runOnce()).rejects.toThrow(/Status 401/);
  }, 60_000);

  it('a device that refuses the credential write stays on its claim, and enrolls at a later session', async () => {
    const { account } = readDmBootstrap(await readFile(exported.files.get('devices/SN_A3.dm.wbxml') ?? ''));
    // A DM tree that refuses every write under ./DMAcc (a read-only account store).
    class ReadOnlyAccount extends DmTree {
      override set(uri: string, data: string): ReturnType<DmTree['set']> {
        return uri.startsWith('./DMAcc/') ? 405 : super.set(uri, data);
      }
    }
    const fixed = { './DevInfo/DevId': { data: 'SN:A3', format: 'chr' as const }, './DevInfo/Mod': { data: MODEL, format: 'chr' as const } };
    const client = new DmClient({ serverUrl: account.address, devId: 'SN:A3', username: account.client.name, password: account.client.secret });
    await client.session({ tree: new ReadOnlyAccount(() => fixed, {}), exec: () => 406 });
    const failed = (await audit('SN:A3')).find((e) => e.action === 'enroll.rotation-failed');
    expect(failed?.details).toMatchObject({ status: 405, still: 'on the claim' });
    expect((await batchNow(batch.id)).devices.awaitingClaim).toBe(1);
    // The claim still opens a session, and this time the write succeeds.
    await (await agent('SN:A3', exported.files.get('devices/SN_A3.dm.wbxml') ?? '')).runOnce();
    expect((await batchNow(batch.id)).devices).toEqual({ issued: 0, awaitingClaim: 0, enrolled: 3 });
  }, 60_000);

  it('a flashed device cannot bootstrap from another device\'s DM bootstrap', async () => {
    await expect(agent('SN:A3', exported.files.get('devices/SN_A1.dm.wbxml') ?? '')).rejects.toThrow(/bootstrap of device SN:A1, not SN:A3/);
  });
});

describe('bootstrap without a claim, and a used device with a new SIM', () => {
  it('a device flashed with its own credentials enrolls at first contact; a new IMSI provisions it again', async () => {
    const batch = await createBatch({ name: 'lot 9', model: MODEL, count: 2, subscriberNode: './DevDetail/Ext/IMSI' });
    const exported = await exportTo(batch.id, join(dir, 'export-9'));
    const [, row] = exported.manifest;
    const id = row?.[0] ?? '';
    expect(id).toMatch(/^SN:[0-9A-F]{16}$/);
    const file = exported.files.get(row?.[8] ?? '') ?? '';
    const dataDir = join(dir, 'sim-device');
    const open = (imsi: string) => DeviceAgent.open({ devId: id, model: MODEL, bootstrap: file, dataDir, image, version: '1.0', trust: { keys: [] }, imsi });
    const first = await open('262011234567890');
    await first.runOnce();
    const secretBefore = first.snapshot().values['./DMAcc/fota/AppAuth/ClientSide/AAuthSecret'];
    expect((await batchNow(batch.id)).devices).toEqual({ issued: 1, awaitingClaim: 0, enrolled: 1 });
    // The same SIM: nothing happens. A new SIM: new credentials, and the old ones stop working.
    await (await open('262011234567890')).runOnce();
    const moved = await open('262029999999999');
    await moved.runOnce();
    const secretAfter = moved.snapshot().values['./DMAcc/fota/AppAuth/ClientSide/AAuthSecret'];
    expect(secretAfter).not.toBe(secretBefore);
    const actions = (await audit(id)).map((e) => e.action);
    expect(actions).toContain('enroll.subscriber-changed');
    expect(actions).toContain('enroll.reprovisioned');
    await expect(moved.runOnce()).resolves.toMatchObject({ sessions: 1 });
    const client = new DmClient({ serverUrl: `${server.url}/dm`, devId: id, username: id, password: secretBefore ?? '' });
    await expect(client.session({ tree: new DmTree(() => ({}), {}), exec: () => 406 })).rejects.toThrow(/Status 401/);
  }, 60_000);
});
