// Application campaigns end to end, over real HTTP and real DM sessions with 100 reference
// agents each: an update of com.acme.nav from 1.0 to 2.1 goes 10% (approval) -> 50% ->
// 100% through the campaign engine as SCOMO DownloadInstalls (delta from 1.0), devices
// already on 2.1 are left out, and every device's inventory then shows 2.1; a removal
// campaign reaches only the devices that have the component; on a second fleet where 30%
// of the devices fail installation (SCOMO 1405), the campaign pauses itself in stage 1 and
// its reason names the SCOMO result code. Last, a model baseline does not touch the
// component of a running application campaign, and takes it back once the campaign ends.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectKeptCountsMatchRows } from '../support/stage-counts.ts';
import type { CampaignView } from '../../src/campaigns/schemas.ts';
import { DeviceAgent } from '../../src/device/agent.ts';
import type { ScomoFaults } from '../../src/device/scomo.ts';
import { parseTrust } from '../../src/device/trust.ts';
import type { TrustPolicy } from '../../src/signing/envelope.ts';
import { nextBuild, pseudoRandom, tempDirFor } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { selectRows } from '../support/sql.ts';
import { get as getPage, login } from '../web/console-harness.ts';

const FLEET = 100;
const NAV = 'com.acme.nav';
let server: TestServer;
let trust: TrustPolicy;
let dir: string;
const nav1 = pseudoRandom(90_000, 'nav-1.0');
const nav21 = nextBuild(nav1, 'nav-2.1');
const firmware = pseudoRandom(8_000, 'appcamp-fw');

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await server.api(path, { method, token: server.tokens.operator, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}
const post = <T>(path: string, body: unknown) => call<T>('POST', path, body);
const get = <T>(path: string) => call<T>('GET', path);
const put = <T>(path: string, body: unknown) => call<T>('PUT', path, body);

async function view(id: string): Promise<CampaignView> {
  await server.campaigns.idle();
  return get<CampaignView>(`/api/v1/campaigns/${id}`);
}

async function uploadApps(model: string): Promise<void> {
  for (const [version, bytes] of [['1.0', nav1], ['2.1', nav21]] as const) {
    const res = await server.api(`/api/v1/apps?model=${model}&component=${NAV}&version=${version}`, { method: 'POST', token: server.tokens.acme, body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    expect(res.status, await res.clone().text()).toBe(201);
  }
  // The manufacturer's signing key exists once it signed something.
  trust = parseTrust(await (await server.api('/api/v1/manufacturers/acme/keys', { token: server.tokens.operator })).text(), 'served keys');
}

interface Spec {
  nav?: '1.0' | '2.1';
  adware?: boolean;
  faults?: ScomoFaults;
}

async function register(model: string, prefix: string, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);
  for (const id of ids) await post('/api/v1/devices', { id, model, firmwareVersion: '1.0', tags: [prefix], credentials: { username: id, password: 'app-device-password' } });
  return ids;
}

async function open(model: string, id: string, spec: Spec): Promise<DeviceAgent> {
  const image = join(dir, `${model}.img`);
  await writeFile(image, firmware);
  const agent = await DeviceAgent.open({ serverUrl: server.url, devId: id, model, username: id, password: 'app-device-password', dataDir: join(dir, id), image, version: '1.0', trust, ...(spec.faults ? { scomoFailures: spec.faults } : {}) });
  if (spec.nav) await agent.scomo.preinstall('nav', { id: NAV, version: spec.nav }, spec.nav === '1.0' ? nav1 : nav21);
  if (spec.adware) await agent.scomo.preinstall('adware', { id: 'com.shady.adware', version: '0.9' }, pseudoRandom(4_000, 'adware'));
  return agent;
}

async function fleet(model: string, prefix: string, n: number, specOf: (i: number) => Spec): Promise<DeviceAgent[]> {
  const ids = await register(model, prefix, n);
  const agents: DeviceAgent[] = [];
  for (const [i, id] of ids.entries()) agents.push(await open(model, id, specOf(i)));
  return agents;
}

async function pollAll(agents: DeviceAgent[]): Promise<void> {
  const queue = [...agents];
  await Promise.all(
    Array.from({ length: 12 }, async () => {
      for (let a = queue.shift(); a; a = queue.shift()) await a.runOnce();
    }),
  );
}

/** Polls the fleet until the campaign leaves 'running' (or stops moving); returns its view. */
async function runWhile(id: string, agents: DeviceAgent[], keepGoing: (v: CampaignView) => boolean): Promise<CampaignView> {
  let v = await view(id);
  for (let round = 0; round < 8 && keepGoing(v); round++) {
    await pollAll(agents);
    v = await view(id);
  }
  return v;
}

const navOf = (a: DeviceAgent) => Object.values(a.scomo.state.deployed).find((c) => c.id === NAV)?.version;
const stagesOf = (v: CampaignView) => JSON.stringify(v.stages.map((s) => [s.state, s.counts, s.failures]));

beforeAll(async () => {
  dir = tempDirFor('app-campaign-e2e', afterAll);
  server = await startTestServer();
}, 60_000);

describe('application campaigns through the campaign engine', () => {
  it('updates an app on 100 devices 10% (approval) -> 50% -> 100%, leaving out those already on it; a removal reaches only devices that have the component', async () => {
    const model = 'nav-phone';
    await uploadApps(model);
    // An empty baseline: the server keeps each device's application inventory without changing anything.
    await put(`/api/v1/baselines/${model}`, { apps: [], forbidden: [] });
    // 5 devices already run 2.1, 10 have no nav at all (installed in full), 20 carry adware.
    const agents = await fleet(model, 'nav', FLEET, (i) => ({ ...(i < 5 ? { nav: '2.1' } : i < 15 ? {} : { nav: '1.0' }), adware: i % 5 === 0 }));
    await pollAll(agents);

    const { id } = await post<{ id: string }>('/api/v1/campaigns', {
      name: 'nav 2.1',
      app: { component: NAV, version: '2.1' },
      cohort: { model, tags: ['nav'] },
      stages: [{ percent: 10, requiresApproval: true }, { percent: 50 }, { percent: 100 }],
      successThreshold: 0.95,
      failureThreshold: 0.1,
      minSample: 5,
    });
    let v = await post<CampaignView>(`/api/v1/campaigns/${id}/start`, {});
    expect(v).toMatchObject({ kind: 'application', targetVersion: `app ${NAV}@2.1`, buildId: null, app: { operation: 'install', component: NAV, version: '2.1' }, cohortSize: 95, alreadyCurrent: 5 });
    expect(v.stages.map((s) => s.state)).toEqual(['awaitingApproval', 'pending', 'pending']);

    // Nothing moves before the approval.
    await pollAll(agents);
    expect(agents.filter((a) => navOf(a) === '2.1')).toHaveLength(5);

    v = await post<CampaignView>(`/api/v1/campaigns/${id}/approve`, {});
    v = await runWhile(id, agents, (c) => c.state === 'running');
    expect(v.state, `${v.pausedReason} ${stagesOf(v)}`).toBe('completed');
    expect(v.totals).toMatchObject({ succeeded: 95, failed: 0, pending: 0, scheduled: 0, commanded: 0 });
    expect(v.stages.reduce((n, s) => n + s.size, 0)).toBe(95);

    // Every device runs 2.1 (the bytes of the release) and the server's inventory says so.
    for (const a of agents) expect(navOf(a), a.options.devId).toBe('2.1');
    const sha = createHash('sha256').update(nav21).digest('hex');
    expect(Object.values(agents[50]?.scomo.state.deployed ?? {}).find((c) => c.id === NAV)).toMatchObject({ sha256: sha });
    for (const i of [0, 7, 50, 99]) {
      const apps = await get<{ components: Array<{ component: string; version: string }>; deployments: Array<{ reason: string; state: string; resultCode: number | null }> }>(`/api/v1/devices/nav-${String(i).padStart(3, '0')}/apps`);
      expect(apps.components.find((c) => c.component === NAV)?.version).toBe('2.1');
      // Device 0 was left out: no SCOMO operation was made for it.
      expect(apps.deployments.filter((d) => d.reason === 'campaign')).toEqual(i === 0 ? [] : [expect.objectContaining({ state: 'succeeded', resultCode: 1200 })]);
    }
    // A device that had 1.0 got the delta; one with nothing got the full package.
    const sent = await selectRows<{ device: string; kind: string }>(server.ctx.db, 'SELECT s.device_id AS device, p.kind AS kind FROM scomo_deployments s JOIN app_packages p ON p.id = s.app_package_id WHERE s.reason = ?', 'campaign');
    const kinds = new Map(sent.map((r) => [r.device, r.kind]));
    expect(kinds.get('nav-050')).toBe('bsdiff40');
    expect(kinds.get('nav-007')).toBe('full');

    // A removal campaign: only the 20 devices that report adware are in it.
    const removal = await post<{ id: string }>('/api/v1/campaigns', { name: 'no adware', app: { operation: 'remove', component: 'com.shady.adware' }, cohort: { model }, stages: [{ percent: 100 }], minSample: 5 });
    v = await post<CampaignView>(`/api/v1/campaigns/${removal.id}/start`, {});
    expect(v).toMatchObject({ targetVersion: 'remove com.shady.adware', cohortSize: 20, alreadyCurrent: 80 });
    v = await runWhile(removal.id, agents, (c) => c.state === 'running');
    expect(v.state, stagesOf(v)).toBe('completed');
    expect(v.totals).toMatchObject({ succeeded: 20, failed: 0 });
    for (const a of agents) expect(Object.values(a.scomo.state.deployed).map((c) => c.id)).toEqual([NAV]);

    // Lists and the console name the payload.
    const list = await get<{ items: Array<{ id: string; targetVersion: string; kind: string }> }>('/api/v1/campaigns');
    expect(list.items.filter((c) => [id, removal.id].includes(c.id)).map((c) => [c.kind, c.targetVersion]).sort()).toEqual([
      ['application', `app ${NAV}@2.1`],
      ['application', 'remove com.shady.adware'],
    ]);
    const cookie = await login(server, server.tokens.operator);
    expect(await (await getPage(server, '/', cookie)).text()).toContain(`${model} <span class="id">app ${NAV}@2.1</span>`);
    expect(await (await getPage(server, `/campaigns/${removal.id}`, cookie)).text()).toContain(`${model} remove com.shady.adware`);
  }, 400_000);

  it('pauses itself in stage 1 when 30% of the devices fail the installation, naming the SCOMO result code', async () => {
    const model = 'nav-tab';
    await uploadApps(model);
    const ids = await register(model, 'tab', FLEET);
    const { id } = await post<{ id: string }>('/api/v1/campaigns', {
      name: 'nav 2.1 on tablets',
      app: { component: NAV, version: '2.1' },
      cohort: { model },
      stages: [{ percent: 20 }, { percent: 100 }],
      failureThreshold: 0.1,
      minSample: 10,
    });
    await post<CampaignView>(`/api/v1/campaigns/${id}/start`, {});
    // 30% of the fleet fails installation (SCOMO 1405): 3 in 10 of each stage's devices.
    const stageOf = new Map((await selectRows<{ id: string; stage: number }>(server.ctx.db, 'SELECT device_id AS id, stage FROM deployments WHERE campaign_id = ?', id)).map((r) => [r.id, Number(r.stage)]));
    const failing = new Set([0, 1].flatMap((stage) => ids.filter((d) => stageOf.get(d) === stage).filter((_, k) => k % 10 < 3)));
    expect(failing.size).toBe(30);
    const agents: DeviceAgent[] = [];
    for (const d of ids) agents.push(await open(model, d, { nav: '1.0', ...(failing.has(d) ? { faults: { install: 1405 } } : {}) }));
    const v = await runWhile(id, agents, (c) => c.state === 'running');
    expect(v.state, stagesOf(v)).toBe('paused');
    expect(v.pauseKind).toBe('failures');
    expect(v.currentStage).toBe(0);
    expect(v.pausedReason).toMatch(/^stage 1: \d+ of \d+ results failed .*most common result: 1405 \(\d+\)/);
    expect(Object.keys(v.stages[0]?.failures ?? {})).toEqual(['1405']);
    expect(v.stages[1]?.counts).toMatchObject({ pending: v.stages[1]?.size, succeeded: 0, failed: 0 });
    // Stage 2's devices were never touched.
    const stage2 = new Set((await selectRows<{ id: string }>(server.ctx.db, 'SELECT device_id AS id FROM deployments WHERE campaign_id = ? AND stage = 1', id)).map((r) => r.id));
    for (const a of agents) if (stage2.has(a.options.devId)) expect(navOf(a), a.options.devId).toBe('1.0');
    // The failed device's deployment says what the device reported.
    const [failed] = await selectRows<{ history: string }>(server.ctx.db, "SELECT history FROM deployments WHERE campaign_id = ? AND state = 'failed'", id);
    expect(failed?.history).toContain('SCOMO 1405 install failed');
    // The console's campaign page says what the code means.
    const page = await (await getPage(server, `/campaigns/${id}`, await login(server, server.tokens.operator))).text();
    expect(page).toMatch(/>1405(<\/a>)?<\/td>\s*<td>install failed<\/td>/);
  }, 400_000);

  it('commands devices only inside the maintenance window, until the campaign is forced', async () => {
    const model = 'nav-kiosk';
    await uploadApps(model);
    const agents = await fleet(model, 'kiosk', 3, () => ({ nav: '1.0' }));
    const days = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
    const day = new Date(server.clock.now()).getUTCDay();
    // Closed today (a 00:00-00:00 window is the whole day; yesterday's would run into today).
    const closed = days.filter((_, i) => i !== day && i !== (day + 6) % 7);
    const { id } = await post<{ id: string }>('/api/v1/campaigns', { name: 'nav 2.1 at night', app: { component: NAV, version: '2.1' }, cohort: { model }, stages: [{ percent: 100 }], minSample: 1, maintenanceWindow: { timeZone: 'UTC', days: closed, start: '00:00', end: '00:00' } });
    await post<CampaignView>(`/api/v1/campaigns/${id}/start`, {});
    await pollAll(agents);
    await pollAll(agents);
    let v = await view(id);
    expect(v.windowNow?.open).toBe(false);
    expect(v.totals).toMatchObject({ scheduled: 3, commanded: 0, succeeded: 0 });
    for (const a of agents) expect(navOf(a)).toBe('1.0');
    await post<CampaignView>(`/api/v1/campaigns/${id}/force`, { reason: 'navigation maps expire tonight' });
    v = await runWhile(id, agents, (c) => c.state === 'running');
    expect(v.state, stagesOf(v)).toBe('completed');
    for (const a of agents) expect(navOf(a)).toBe('2.1');
  }, 200_000);

  it("leaves a running application campaign's component alone in baseline reconciliation, and takes it back when the campaign ends", async () => {
    const model = 'nav-car';
    await uploadApps(model);
    await put(`/api/v1/baselines/${model}`, { apps: [{ component: NAV, version: '1.0' }], forbidden: [] });
    const agents = await fleet(model, 'car', 4, () => ({ nav: '1.0' }));
    await pollAll(agents);
    const { id } = await post<{ id: string }>('/api/v1/campaigns', {
      name: 'nav 2.1 in cars',
      app: { component: NAV, version: '2.1' },
      cohort: { model },
      stages: [{ percent: 50 }, { percent: 100, requiresApproval: true }],
      minSample: 1,
    });
    await post<CampaignView>(`/api/v1/campaigns/${id}/start`, {});
    let v = await runWhile(id, agents, (c) => c.currentStageState !== 'awaitingApproval' && c.state === 'running');
    expect(v.stages.map((s) => s.state), stagesOf(v)).toEqual(['done', 'awaitingApproval']);
    const updated = agents.filter((a) => navOf(a) === '2.1');
    expect(updated).toHaveLength(2);
    // Polled again while the campaign waits: the baseline's 1.0 is not forced back on anyone.
    await pollAll(agents);
    await pollAll(agents);
    expect(agents.filter((a) => navOf(a) === '2.1')).toHaveLength(2);
    const apps = await get<{ drift: unknown[]; deployments: Array<{ reason: string }> }>(`/api/v1/devices/${updated[0]?.options.devId ?? ''}/apps`);
    expect(apps.drift).toEqual([{ operation: 'install', component: NAV, version: '1.0' }]);
    expect(apps.deployments.map((d) => d.reason)).toEqual(['campaign']);

    // Aborted: the baseline applies again.
    v = await post<CampaignView>(`/api/v1/campaigns/${id}/abort`, { reason: 'stay on 1.0' });
    expect(v.state).toBe('aborted');
    await pollAll(agents);
    await pollAll(agents);
    for (const a of agents) expect(navOf(a), a.options.devId).toBe('1.0');
  }, 200_000);
});

// Whatever the test did to the campaigns' deployments, their kept counts still match the rows.
afterEach(() => expectKeptCountsMatchRows(server.ctx.db));
