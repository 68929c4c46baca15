// Configuration profiles end to end with 100 reference agents over real OMA DM on
// loopback: the model's provisioning profile reaches every device at its first session
// ("provisioning confirmed" in its history, the values read back as its configuration);
// then a configuration campaign of 10% (approval) -> 100% sets a new DM server address on
// every device. 5% of the devices refuse writes to ./DMAcc (Status 425): the campaign
// pauses itself on them, and the operator's resume (accepting those failures) finishes
// it. A drift check afterwards finds exactly the devices that refused. Every agent starts
// with the address it was given in its DM account (./DMAcc, as the helpdesk reads it).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CampaignView } from '../../src/campaigns/schemas.ts';
import { DeviceAgent } from '../../src/device/agent.ts';
import { parseTrust } from '../../src/device/trust.ts';
import type { DeviceConfiguration } from '../../src/profiles/schemas.ts';
import type { TrustPolicy } from '../../src/signing/envelope.ts';
import { pseudoRandom, tempDirFor } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { selectRows } from '../support/sql.ts';
import { get as getPage, login } from '../web/console-harness.ts';

const MODEL = 'router-cfg';
const FLEET = 100;
const ADDR = './DMAcc/fota/AppAddr/1/Addr';
const NEW_ADDR = 'https://dm2.example.net/dm';
/** The address each agent's account holds until the campaign moves it: the server it talks to. */
const oldAddr = () => `${server.url}/dm`;
let server: TestServer;
let trust: TrustPolicy;
let baseImage: string;
let dir: string;

beforeAll(async () => {
  dir = tempDirFor('configuration-e2e', afterAll);
  server = await startTestServer();
  const v1 = pseudoRandom(16 * 1024, 'cfg-e2e-v1');
  baseImage = join(dir, 'v1.bin');
  await writeFile(baseImage, v1);
  expect((await server.upload(MODEL, '1.0', v1)).status).toBe('ready');
  trust = parseTrust(await (await server.api('/api/v1/manufacturers/acme/keys', { token: server.tokens.operator })).text(), 'served keys');
}, 120_000);

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await server.api(path, { method, token: server.tokens.operator, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}
const post = <T>(path: string, body: unknown) => call<T>('POST', path, body);
const get = <T>(path: string) => call<T>('GET', path);

async function view(id: string): Promise<CampaignView> {
  await server.campaigns.idle();
  return get<CampaignView>(`/api/v1/campaigns/${id}`);
}

function agent(id: string, refuses: boolean): Promise<DeviceAgent> {
  return DeviceAgent.open({ serverUrl: server.url, devId: id, model: MODEL, username: id, password: 'cfg-device-password', dataDir: join(dir, id), image: baseImage, version: '1.0', trust, ...(refuses ? { refuseWrites: ['./DMAcc'] } : {}) });
}

async function pollAll(agents: DeviceAgent[]): Promise<void> {
  const queue = [...agents];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let a = queue.shift(); a; a = queue.shift()) await a.runOnce();
    }),
  );
}

describe('configuration profiles and a configuration campaign with 100 reference agents', () => {
  it('provisions at first contact, rolls a new server address out 10% (approval) -> 100%, pauses on refusals, and finishes on resume', async () => {
    const ids = Array.from({ length: FLEET }, (_, i) => `cfg-${String(i).padStart(3, '0')}`);
    for (const id of ids) await post('/api/v1/devices', { id, model: MODEL, firmwareVersion: '1.0', tags: ['cfg-fleet'], credentials: { username: id, password: 'cfg-device-password' } });

    await post('/api/v1/profiles', {
      name: 'router-baseline',
      model: MODEL,
      provisioning: true,
      operations: [
        { command: 'Add', uri: './Vendor/Telemetry/Enabled', data: 'true', format: 'bool' },
        { command: 'Replace', uri: './Vendor/Telemetry/IntervalSeconds', data: '900', format: 'int' },
      ],
    });
    const created = await post<{ version: number }>('/api/v1/profiles', {
      name: 'dm-server-move',
      model: MODEL,
      description: 'the DM server moves to dm2',
      operations: [{ command: 'Replace', uri: ADDR, data: NEW_ADDR, format: 'chr', readFirst: true }],
    });
    expect(created.version).toBe(1);

    const { id } = await post<{ id: string }>('/api/v1/campaigns', {
      name: 'move DM server',
      profile: 'dm-server-move@1',
      cohort: { tags: ['cfg-fleet'] },
      stages: [{ percent: 10, requiresApproval: true }, { percent: 100 }],
      successThreshold: 0.9,
      failureThreshold: 0.03,
      minSample: 5,
    });
    let v = await post<CampaignView>(`/api/v1/campaigns/${id}/start`, {});
    expect(v).toMatchObject({ kind: 'configuration', targetVersion: 'dm-server-move@1', buildId: null });
    expect(v.stages.map((s) => [s.size, s.state])).toEqual([
      [10, 'awaitingApproval'],
      [90, 'pending'],
    ]);

    // 5% of the fleet refuses writes under ./DMAcc: all of them in the second stage.
    const stages = new Map((await selectRows<{ id: string; stage: number }>(server.ctx.db, 'SELECT device_id AS id, stage FROM deployments WHERE campaign_id = ?', id)).map((r) => [r.id, Number(r.stage)]));
    const refusing = new Set(ids.filter((d) => stages.get(d) === 1).slice(0, 5));
    const agents = await Promise.all(ids.map((d) => agent(d, refusing.has(d))));

    // First contact: the provisioning profile, on every device (locked ./DMAcc or not).
    await pollAll(agents);
    const first = await get<DeviceConfiguration>('/api/v1/devices/cfg-000/configuration');
    expect(first.values.map((c) => [c.uri, c.value])).toEqual([
      ['./Vendor/Telemetry/Enabled', 'true'],
      ['./Vendor/Telemetry/IntervalSeconds', '900'],
    ]);
    expect(first.applications).toEqual([expect.objectContaining({ reason: 'provisioning', state: 'succeeded', failureCode: null })]);
    const confirmed = await selectRows<{ n: number }>(server.ctx.db, "SELECT count(*) AS n FROM audit_events WHERE action = 'device.provisioning-confirmed'");
    expect(Number(confirmed[0]?.n)).toBe(FLEET);
    // Nothing of the campaign yet: its first stage waits for approval.
    for (const a of agents) expect(a.tree.get(ADDR), a.options.devId).toEqual({ status: 200, value: { data: oldAddr(), format: 'chr' } });
    // A second session does not provision again.
    await agents[0]?.runOnce();
    expect((await get<DeviceConfiguration>('/api/v1/devices/cfg-000/configuration')).applications).toHaveLength(1);

    v = await post<CampaignView>(`/api/v1/campaigns/${id}/approve`, {});
    for (let round = 0; round < 6 && v.state === 'running'; round++) {
      await pollAll(agents);
      v = await view(id);
    }
    expect(v.state, JSON.stringify(v.stages.map((s) => [s.state, s.counts, s.failures]))).toBe('paused');
    expect(v.pauseKind).toBe('failures');
    expect(v.pausedReason).toMatch(/^stage 2: \d+ of \d+ results failed .*most common result: 425/);
    expect(v.stages[0]).toMatchObject({ state: 'done', counts: { succeeded: 10, failed: 0 } });

    v = await post<CampaignView>(`/api/v1/campaigns/${id}/resume`, { reason: 'five routers with a locked DM account; field service replaces them' });
    for (let round = 0; round < 6 && v.state !== 'completed'; round++) {
      await pollAll(agents);
      v = await view(id);
    }
    expect(v.state, `${v.pausedReason} ${JSON.stringify(v.stages.map((s) => [s.state, s.counts, s.failures]))}`).toBe('completed');
    expect(v.totals).toMatchObject({ succeeded: FLEET - 5, failed: 5, pending: 0, scheduled: 0, commanded: 0 });
    expect(v.stages[1]?.failures).toEqual({ '425': 5 });
    expect(v.stages[1]?.overrides).toEqual([expect.objectContaining({ kind: 'accepted-failures' })]);

    for (const a of agents) {
      const refused = refusing.has(a.options.devId);
      expect(a.tree.get(ADDR), a.options.devId).toEqual({ status: 200, value: { data: refused ? oldAddr() : NEW_ADDR, format: 'chr' } });
    }
    // What the server stores is what it read back, per device.
    const ok = ids.find((d) => !refusing.has(d)) ?? '';
    const okConfig = await get<DeviceConfiguration>(`/api/v1/devices/${ok}/configuration`);
    expect(okConfig.values).toContainEqual(expect.objectContaining({ uri: ADDR, value: NEW_ADDR }));
    expect(okConfig.applications[0]).toMatchObject({ reason: 'campaign', state: 'succeeded', statuses: [expect.objectContaining({ command: 'Get', role: 'readFirst', status: 200, value: oldAddr() }), expect.objectContaining({ command: 'Replace', status: 200 }), expect.objectContaining({ command: 'Get', role: 'readBack', status: 200, value: NEW_ADDR })] });
    const bad = [...refusing][0] ?? '';
    const badConfig = await get<DeviceConfiguration>(`/api/v1/devices/${bad}/configuration`);
    // What it read back is the address it kept.
    expect(badConfig.values).toContainEqual(expect.objectContaining({ uri: ADDR, value: oldAddr() }));
    expect(badConfig.values.map((c) => c.value)).not.toContain(NEW_ADDR);
    expect(badConfig.applications[0]).toMatchObject({ reason: 'campaign', state: 'failed', failureCode: 425 });
    const history = await selectRows<{ action: string; details: string }>(server.ctx.db, "SELECT action, details FROM audit_events WHERE subject = ? AND action LIKE 'device.profile-%'", bad);
    expect(history.map((h) => h.action)).toEqual(['device.profile-failed']);
    expect(JSON.parse(history[0]?.details ?? '{}')).toMatchObject({ profile: 'dm-server-move@1', failureCode: 425, statuses: [{ command: 'Get', uri: ADDR, status: 200 }, { command: 'Replace', uri: ADDR, status: 425 }, { command: 'Get', uri: ADDR, status: 200 }] });

    // The console's device page shows the configuration read back and the refusal.
    const cookie = await login(server, server.tokens.operator);
    const okPage = await (await getPage(server, `/devices/${ok}`, cookie)).text();
    expect(okPage).toContain('data-testid="device-configuration"');
    expect(okPage).toContain(NEW_ADDR);
    const badPage = await (await getPage(server, `/devices/${bad}`, cookie)).text();
    expect(badPage).toContain('campaign failed');
    expect(badPage).toContain(`Replace ${ADDR} 425`);
    // The campaign list shows it beside firmware campaigns, as a configuration campaign.
    expect(await (await getPage(server, '/', cookie)).text()).toContain('configuration <span class="id">dm-server-move@1</span>');

    // Drift: read back and compare on the whole cohort.
    const drift = await post<{ devices: number }>('/api/v1/profiles/dm-server-move/drift-check', { cohort: { tags: ['cfg-fleet'] } });
    expect(drift.devices).toBe(FLEET);
    await pollAll(agents);
    const drifted = await selectRows<{ subject: string }>(server.ctx.db, "SELECT subject FROM audit_events WHERE action = 'device.configuration-drift'");
    expect(drifted.map((r) => r.subject).sort()).toEqual([...refusing].sort());
    const matching = await selectRows<{ n: number }>(server.ctx.db, "SELECT count(*) AS n FROM audit_events WHERE action = 'device.configuration-matches'");
    expect(Number(matching[0]?.n)).toBe(FLEET - 5);
  }, 300_000);
});
