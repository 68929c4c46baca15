// The fleet story of issue 17 in one test, with 100 reference agents over real OMA DM on
// loopback: an operator creates an enrollment batch of 100 devices sharing a claim
// credential and takes its one export; each device boots from its bootstrap file alone
// (no other configuration) and its first session replaces the claim with credentials of
// its own and applies the model's provisioning profile ("provisioning confirmed" in its
// history, the values read back as its configuration); the claim then opens no session
// for any of them. A configuration campaign of 10% (approval) -> 100% then moves the
// fleet's DM server address. 5% of the devices refuse writes to their DM address (Status
// 425): the campaign pauses itself on them, and the operator's resume (accepting those
// failures) finishes it. A drift check afterwards finds exactly the devices that refused.
// The new address names the same server under another host name, so the moved devices,
// which take their server from their DM account, keep talking to it.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectKeptCountsMatchRows } from '../support/stage-counts.ts';
import type { CampaignView } from '../../src/campaigns/schemas.ts';
import { DeviceAgent } from '../../src/device/agent.ts';
import { DmClient } from '../../src/device/dm-client.ts';
import { DmTree } from '../../src/device/tree.ts';
import { parseTrust } from '../../src/device/trust.ts';
import type { BatchExport, BatchView } from '../../src/enroll/schemas.ts';
import { readDmBootstrap } from '../../src/omadm/provisioning/dm-bootstrap.ts';
import type { DeviceConfiguration } from '../../src/profiles/schemas.ts';
import type { TrustPolicy } from '../../src/signing/envelope.ts';
import { pseudoRandom, tempDirFor } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { selectRows } from '../support/sql.ts';
import { get as getPage, login } from '../web/console-harness.ts';

const MODEL = 'router-cfg';
const FLEET = 100;
const ADDR = './DMAcc/fota/AppAddr/SrvAddr/Addr';
const AUTH = './DMAcc/fota/AppAuth/ClientSide';
/** The address each agent's account holds until the campaign moves it: the server it talks to. */
const oldAddr = () => `${server.url}/dm`;
/** Where the campaign moves it: the same server under another name. */
const newAddr = () => `${server.url.replace('127.0.0.1', 'localhost')}/dm`;
let server: TestServer;
let trust: TrustPolicy;
let baseImage: string;
let dir: string;

beforeAll(async () => {
  dir = tempDirFor('configuration-e2e', afterAll);
  // Every device here calls from 127.0.0.1: the per-address failure limit (meant for one
  // attacker's address) would lock them all out after the claims refused below.
  server = await startTestServer({}, { env: { FOTA_DM_ADDRESS_MAX_FAILURES: '0' } });
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

/** A device flashed with its bootstrap file alone: server address and credentials come from it. */
function agent(id: string, bootstrap: string, refuses: boolean): Promise<DeviceAgent> {
  return DeviceAgent.open({ devId: id, model: MODEL, bootstrap, dataDir: join(dir, id), image: baseImage, version: '1.0', trust, ...(refuses ? { refuseWrites: [ADDR] } : {}) });
}

/** Takes the batch's one export and writes it as the CLI does: a directory of files. */
async function exportTo(batchId: string, into: string): Promise<Map<string, string>> {
  const body = await post<BatchExport>(`/api/v1/enrollments/${batchId}/export`, {});
  const files = new Map<string, string>();
  for (const f of body.files) {
    const path = join(into, f.path);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, f.encoding === 'base64' ? Buffer.from(f.content, 'base64') : f.content);
    files.set(f.path, path);
  }
  return files;
}

async function pollAll(agents: DeviceAgent[]): Promise<void> {
  const queue = [...agents];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let a = queue.shift(); a; a = queue.shift()) await a.runOnce();
    }),
  );
}

describe('100 devices enrolled off a shared claim, provisioned, then reconfigured by a campaign', () => {
  it('bootstraps from the export alone, rotates and provisions at first contact, rolls a new server address out 10% (approval) -> 100%, pauses on refusals, and finishes on resume', async () => {
    const ids = Array.from({ length: FLEET }, (_, i) => `cfg-${String(i).padStart(3, '0')}`);
    const batch = await post<BatchView>('/api/v1/enrollments', { name: 'router lot 1', model: MODEL, deviceIds: ids, tags: ['cfg-fleet'], claim: { name: 'claim-routers-1' } });
    const files = await exportTo(batch.id, join(dir, 'export'));
    // Half the fleet is flashed with the DM bootstrap message, half with the CP provisioning document.
    const bootstrapOf = (id: string) => files.get(`devices/${id}.${Number(id.slice(4)) % 2 === 0 ? 'dm' : 'cp'}.wbxml`) ?? '';

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
      operations: [{ command: 'Replace', uri: ADDR, data: newAddr(), format: 'chr', readFirst: true }],
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

    // 5% of the fleet refuses writes to its DM address: all of them in the second stage.
    const stages = new Map((await selectRows<{ id: string; stage: number }>(server.ctx.db, 'SELECT device_id AS id, stage FROM deployments WHERE campaign_id = ?', id)).map((r) => [r.id, Number(r.stage)]));
    const refusing = new Set(ids.filter((d) => stages.get(d) === 1).slice(0, 5));
    const agents = await Promise.all(ids.map((d) => agent(d, bootstrapOf(d), refusing.has(d))));

    // First contact: each device trades the claim for credentials of its own, and gets the provisioning profile.
    await pollAll(agents);
    expect((await get<BatchView>(`/api/v1/enrollments/${batch.id}`)).devices).toEqual({ issued: 0, awaitingClaim: 0, enrolled: FLEET });
    const accounts = agents.map((a) => a.snapshot().values);
    expect(accounts.map((v) => v[`${AUTH}/AAuthName`])).toEqual(ids);
    expect(new Set(accounts.map((v) => v[`${AUTH}/AAuthSecret`])).size).toBe(FLEET);
    const { account: claim } = readDmBootstrap(await readFile(bootstrapOf('cfg-000')));
    expect(claim.client.name).toBe('claim-routers-1');
    const claimSession = (d: string) => {
      const client = new DmClient({ serverUrl: claim.address, devId: d, username: claim.client.name, password: claim.client.secret });
      const fixed = { './DevInfo/DevId': { data: d, format: 'chr' as const }, './DevInfo/Mod': { data: MODEL, format: 'chr' as const } };
      return client.session({ tree: new DmTree(() => fixed, {}), exec: () => 406 }).then(() => 'opened', (err: Error) => err.message);
    };
    const claimTries = [...ids];
    const answers: string[] = [];
    await Promise.all(Array.from({ length: 10 }, async () => {
      for (let d = claimTries.shift(); d; d = claimTries.shift()) answers.push(await claimSession(d));
    }));
    expect(answers.filter((m) => !/Status 401/.test(m))).toEqual([]);
    expect(answers).toHaveLength(FLEET);
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

    // The first stage, then the refusing devices of the second, together: the campaign
    // judges a stage on at least 5 results (minSample), so their five failures all land
    // before the pause they cause, and one resume (accepting them) finishes the campaign.
    v = await post<CampaignView>(`/api/v1/campaigns/${id}/approve`, {});
    const firstStage = agents.filter((a) => stages.get(a.options.devId) === 0);
    for (let round = 0; round < 6 && v.stages[1]?.state !== 'running'; round++) {
      await pollAll(firstStage);
      v = await view(id);
    }
    expect(v.stages.map((s) => s.state)).toEqual(['done', 'running']);
    await Promise.all(agents.filter((a) => refusing.has(a.options.devId)).map((a) => a.runOnce()));
    v = await view(id);
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
      expect(a.tree.get(ADDR), a.options.devId).toEqual({ status: 200, value: { data: refused ? oldAddr() : newAddr(), format: 'chr' } });
    }
    // What the server stores is what it read back, per device.
    const ok = ids.find((d) => !refusing.has(d)) ?? '';
    const okConfig = await get<DeviceConfiguration>(`/api/v1/devices/${ok}/configuration`);
    expect(okConfig.values).toContainEqual(expect.objectContaining({ uri: ADDR, value: newAddr() }));
    expect(okConfig.applications[0]).toMatchObject({ reason: 'campaign', state: 'succeeded', statuses: [expect.objectContaining({ command: 'Get', role: 'readFirst', status: 200, value: oldAddr() }), expect.objectContaining({ command: 'Replace', status: 200 }), expect.objectContaining({ command: 'Get', role: 'readBack', status: 200, value: newAddr() })] });
    const bad = [...refusing][0] ?? '';
    const badConfig = await get<DeviceConfiguration>(`/api/v1/devices/${bad}/configuration`);
    // What it read back is the address it kept.
    expect(badConfig.values).toContainEqual(expect.objectContaining({ uri: ADDR, value: oldAddr() }));
    expect(badConfig.values.map((c) => c.value)).not.toContain(newAddr());
    expect(badConfig.applications[0]).toMatchObject({ reason: 'campaign', state: 'failed', failureCode: 425 });
    const history = await selectRows<{ action: string; details: string }>(server.ctx.db, "SELECT action, details FROM audit_events WHERE subject = ? AND action LIKE 'device.profile-%'", bad);
    expect(history.map((h) => h.action)).toEqual(['device.profile-failed']);
    expect(JSON.parse(history[0]?.details ?? '{}')).toMatchObject({ profile: 'dm-server-move@1', failureCode: 425, statuses: [{ command: 'Get', uri: ADDR, status: 200 }, { command: 'Replace', uri: ADDR, status: 425 }, { command: 'Get', uri: ADDR, status: 200 }] });

    // The console's device page shows the configuration read back and the refusal.
    const cookie = await login(server, server.tokens.operator);
    const okPage = await (await getPage(server, `/devices/${ok}`, cookie)).text();
    expect(okPage).toContain('data-testid="device-configuration"');
    expect(okPage).toContain(newAddr());
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

// Whatever the test did to the campaigns' deployments, their kept counts still match the rows.
afterEach(() => expectKeptCountsMatchRows(server.ctx.db));
