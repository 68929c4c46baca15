// Campaigns through the API and real DM sessions (the independent test client plays the
// devices): cohort preview, stage sizes, approval gates and four eyes, automatic pause on
// failures and its resume, operator pause, abort, one running campaign per device,
// timeouts, backoff of transient failures, maintenance windows, soak time, dynamic
// cohorts, and Package 0 for a started stage.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectKeptCountsMatchRows } from '../support/stage-counts.ts';
import { tickCampaigns } from '../../src/campaigns/engine.ts';
import { scheduleStage } from '../../src/store/queries/campaigns.ts';
import { sendQueuedNotifications } from '../../src/campaigns/notifications.ts';
import type { CampaignView } from '../../src/campaigns/schemas.ts';
import { createToken } from '../../src/tokens/tokens.ts';
import { alertXml, DmTestClient } from '../support/dm-test-client.ts';
import { nextBuild, pseudoRandom } from '../support/harness.ts';
import { ALLOW_LOOPBACK_WEBHOOKS, startTestServer, type TestServer } from '../support/server.ts';
import { runSql, selectRow } from '../support/sql.ts';

const MODEL = 'router-c';
let server: TestServer;
let target: string;
let secondOperator: string;

beforeAll(async () => {
  // The Package 0 tests' device webhooks listen on 127.0.0.1. The server's own sender is
  // held (rate 0), so the tests see the whole queue and send it themselves.
  server = await startTestServer({}, { env: { ...ALLOW_LOOPBACK_WEBHOOKS, FOTA_NOTIFY_PER_SECOND: '0' } });
  const v1 = pseudoRandom(100_000, 'campaign-v1');
  for (const [version, image] of [['1.0', v1], ['2.0', nextBuild(v1)]] as const) {
    const build = await server.upload(MODEL, version, image);
    expect(build.status).toBe('ready');
    target = build.id;
  }
  secondOperator = (await createToken(server.ctx, 'test', { role: 'operator', name: 'second pair of eyes' })).token;
});

// Whatever the test did to the campaigns' deployments, their kept counts still match the rows.
afterEach(() => expectKeptCountsMatchRows(server.ctx.db));

const post = (path: string, body: unknown, token = server.tokens.operator) =>
  server.api(path, { method: 'POST', token, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
const view = async (id: string) => (await (await server.api(`/api/v1/campaigns/${id}`, { token: server.tokens.operator })).json()) as CampaignView;
/** An operator action; the engine looks at the campaign after it (outside the request), and this waits for that too. */
async function act(id: string, action: string, token = server.tokens.operator, body: unknown = {}): Promise<Response> {
  const res = await post(`/api/v1/campaigns/${id}/${action}`, body, token);
  await server.campaigns.idle();
  return res;
}

let seq = 0;
interface Device {
  id: string;
  client: DmTestClient;
}

/** Registers `n` devices on `version` with a tag unique to the test, so cohorts never overlap by accident. */
async function fleet(n: number, version: string, tag: string, extra: Record<string, unknown> = {}): Promise<Device[]> {
  const devices: Device[] = [];
  for (let i = 0; i < n; i++) {
    const id = `cmp-dev-${++seq}`;
    const res = await post('/api/v1/devices', { id, model: MODEL, firmwareVersion: version, tags: [tag], credentials: { username: id, password: 'device-password' }, ...extra });
    expect(res.status).toBe(201);
    devices.push({ id, client: new DmTestClient({ url: `${server.url}/dm`, devId: id, username: id, password: 'device-password', tree: { './DevDetail/FwV': version, './DevDetail/SwV': '1', './DevDetail/HwV': 'A' } }) });
  }
  return devices;
}

async function create(tag: string, overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await post('/api/v1/campaigns', {
    name: `campaign ${tag}`,
    buildId: target,
    cohort: { tags: [tag] },
    stages: [{ percent: 10, requiresApproval: false }, { percent: 50, requiresApproval: false }, { percent: 100, requiresApproval: false }],
    successThreshold: 1,
    failureThreshold: 0.2,
    minSample: 3,
    ...overrides,
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function deploymentOf(deviceId: string): Promise<{ id: string; state: string; attempts?: number }> {
  const record = (await (await server.api(`/api/v1/devices/${deviceId}`, { token: server.tokens.operator })).json()) as { deployments: Array<{ id: string; state: string }> };
  const latest = record.deployments[0];
  if (!latest) throw new Error(`${deviceId} has no deployment`);
  return latest;
}

const resultAlert = (correlator: string, code: number) =>
  alertXml('1226', [{ source: './FUMO/fota/DownloadAndUpdate', type: 'org.openmobilealliance.dm.firmwareupdate.downloadandupdate', format: 'int', ...(code === 200 ? {} : { mark: 'critical' }), data: String(code) }], correlator);

/** A poll: true when the server commanded the update (PkgURL set in this session). */
async function poll(device: Device): Promise<boolean> {
  device.client.tree.delete('./FUMO/fota/DownloadAndUpdate/PkgURL');
  await device.client.session();
  // What the session moved is evaluated after it, outside the DM requests.
  await server.campaigns.idle();
  return device.client.tree.has('./FUMO/fota/DownloadAndUpdate/PkgURL');
}

/** The device reports `code` for its deployment's current attempt (200 also reports the new FwV). */
async function report(device: Device, code: number): Promise<void> {
  const dep = (await (await server.api(`/api/v1/deployments/${(await deploymentOf(device.id)).id}`, { token: server.tokens.operator })).json()) as { id: string; attempts: number };
  if (code === 200) device.client.tree.set('./DevDetail/FwV', '2.0');
  await device.client.session({ extra: [resultAlert(`${dep.id}.${dep.attempts}`, code)] });
  await server.campaigns.idle();
}

const stageOf = async (campaignId: string, device: Device) => {
  const row = await selectRow(server.ctx.db, 'SELECT stage FROM deployments WHERE campaign_id = ? AND device_id = ?', campaignId, device.id) as { stage: number } | undefined;
  return row?.stage;
};

async function byStage(campaignId: string, devices: Device[]): Promise<Device[][]> {
  const stages: Device[][] = [[], [], []];
  for (const d of devices) {
    const s = await stageOf(campaignId, d);
    if (s !== undefined) stages[s]?.push(d);
  }
  return stages;
}

describe('cohorts and creation', () => {
  it('previews a cohort by version, counting devices already on the target', async () => {
    await fleet(3, '1.0', 'preview');
    await fleet(2, '2.0', 'preview');
    const res = await server.api(`/api/v1/cohorts/preview?tags=preview&buildId=${target}`, { token: server.tokens.operator });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ devices: 5, byVersion: { '1.0': 3, '2.0': 2 }, alreadyCurrent: 2, securityHeld: 0, inOtherCampaigns: [] });
  });

  it('previews a cohort of thousands of device ids from a JSON body', async () => {
    const [one] = await fleet(1, '1.0', 'preview-ids');
    const deviceIds = [one?.id ?? '', ...Array.from({ length: 4999 }, (_, i) => `no-such-device-${i}`)];
    const res = await post('/api/v1/cohorts/preview', { model: MODEL, deviceIds });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ devices: 1, byVersion: { '1.0': 1 } });
    const bad = await post('/api/v1/cohorts/preview', { model: MODEL, deviceIds: ['../etc/passwd'] });
    expect(bad.status).toBe(400);
  });

  it.each([
    ['stages that do not increase', { stages: [{ percent: 50 }, { percent: 10 }, { percent: 100 }] }, 'must increase'],
    ['a last stage short of 100', { stages: [{ percent: 10 }, { percent: 50 }] }, 'last stage must reach 100'],
    ['a threshold above 1', { successThreshold: 1.5 }, 'successThreshold'],
    ['an unknown time zone', { maintenanceWindow: { timeZone: 'Mars/Olympus', days: ['mon'], start: '01:00', end: '02:00' } }, 'IANA time zone'],
    ['a cohort of another model', { cohort: { model: 'other-model' } }, 'does not match build'],
  ])('refuses %s with 400', async (_name, overrides, message) => {
    const res = await post('/api/v1/campaigns', { name: 'bad', buildId: target, stages: [{ percent: 100 }], ...overrides });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain(message);
  });

  it('refuses an unknown build with 404 and an unknown campaign with 404', async () => {
    expect((await post('/api/v1/campaigns', { name: 'x', buildId: 'bld_nope', stages: [{ percent: 100 }] })).status).toBe(404);
    expect((await server.api('/api/v1/campaigns/cmp_nope', { token: server.tokens.operator })).status).toBe(404);
    expect((await act('cmp_nope', 'start')).status).toBe(404);
  });
});

describe('a staged rollout', () => {
  it('snapshots the cohort into exact stages, waits for approval, and advances on success', async () => {
    const devices = await fleet(20, '1.0', 'staged');
    await fleet(2, '2.0', 'staged');
    const id = await create('staged', { stages: [{ percent: 10, requiresApproval: true }, { percent: 50 }, { percent: 100 }] });
    expect((await view(id)).state).toBe('draft');
    const started = await act(id, 'start');
    expect(started.status).toBe(200);
    let v = (await started.json()) as CampaignView;
    expect(v).toMatchObject({ state: 'running', cohortSize: 20, alreadyCurrent: 2, currentStage: 0 });
    expect(v.stages.map((s) => [s.size, s.state])).toEqual([
      [2, 'awaitingApproval'],
      [8, 'pending'],
      [10, 'pending'],
    ]);
    expect(v.totals.pending).toBe(20);
    const stages = await byStage(id, devices);
    // Nothing is commanded before the approval.
    expect(await poll(stages[0]?.[0] as Device)).toBe(false);

    v = (await (await act(id, 'approve')).json()) as CampaignView;
    expect(v.stages[0]).toMatchObject({ state: 'running', approvedBy: 'ops', counts: { scheduled: 2 } });
    // A stage-2 device still waits; stage-1 devices are commanded.
    expect(await poll(stages[1]?.[0] as Device)).toBe(false);
    for (const d of stages[0] ?? []) expect(await poll(d)).toBe(true);
    expect((await view(id)).stages[0]?.counts.commanded).toBe(2);
    for (const d of stages[0] ?? []) await report(d, 200);
    v = await view(id);
    expect(v.stages[0]).toMatchObject({ state: 'done', counts: { succeeded: 2 } });
    expect(v.stages[1]).toMatchObject({ state: 'running', counts: { scheduled: 8 } });
    expect(v.stages[2]?.state).toBe('pending');

    for (const d of [...(stages[1] ?? []), ...(stages[2] ?? [])]) {
      if (await poll(d)) await report(d, 200);
    }
    // Stage 3 started when stage 2 finished; its devices update on their next poll.
    for (const d of stages[2] ?? []) if (await poll(d)) await report(d, 200);
    v = await view(id);
    expect(v.state).toBe('completed');
    expect(v.totals.succeeded).toBe(20);
    expect(v.stages.every((s) => s.state === 'done')).toBe(true);
  });

  it('keeps a device in one running campaign: a second campaign over it is refused with the first one named', async () => {
    await fleet(4, '1.0', 'exclusive');
    const first = await create('exclusive');
    expect((await act(first, 'start')).status).toBe(200);
    const second = await create('exclusive');
    const res = await act(second, 'start');
    expect(res.status).toBe(409);
    const body = (await res.json()) as { error: { message: string; campaignId: string } };
    expect(body.error.campaignId).toBe(first);
    expect(body.error.message).toContain(first);
    expect((await view(second)).state).toBe('draft');
    const preview = (await (await server.api('/api/v1/cohorts/preview?tags=exclusive&model=router-c', { token: server.tokens.operator })).json()) as { inOtherCampaigns: unknown };
    expect(preview.inOtherCampaigns).toEqual([{ campaignId: first, devices: 4 }]);
    // Once the first is aborted, the second may start.
    expect((await act(first, 'abort')).status).toBe(200);
    expect((await act(second, 'start')).status).toBe(200);
  });

  it('requires a different approver when four eyes are asked for', async () => {
    await fleet(3, '1.0', 'four-eyes');
    const id = await create('four-eyes', { fourEyes: true, stages: [{ percent: 100, requiresApproval: true }] });
    await act(id, 'start');
    const refused = await act(id, 'approve');
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain('four eyes');
    const approved = await act(id, 'approve', secondOperator);
    expect(approved.status).toBe(200);
    expect(((await approved.json()) as CampaignView).stages[0]).toMatchObject({ state: 'running', approvedBy: 'second pair of eyes' });
    // Nothing else awaits approval now.
    expect((await act(id, 'approve', secondOperator)).status).toBe(409);
  });
});

describe('failures', () => {
  it('pauses itself when failures pass the threshold, names the counts and the code, and resumes on the operator', async () => {
    const devices = await fleet(40, '1.0', 'failing');
    const id = await create('failing', { stages: [{ percent: 25 }, { percent: 100 }], successThreshold: 0.6, failureThreshold: 0.3, minSample: 5 });
    await act(id, 'start');
    const [first = [], second = []] = await byStage(id, devices);
    expect(first).toHaveLength(10);
    for (const d of first) expect(await poll(d)).toBe(true);
    // 3 of the first 5 results fail with 410: 60% > 30% once the minimum sample of 5 is in.
    const codes = [410, 200, 410, 410];
    for (const [i, code] of codes.entries()) await report(first[i] as Device, code);
    expect((await view(id)).state).toBe('running'); // 3 of 4: below the minimum sample
    await report(first[4] as Device, 200);
    let v = await view(id);
    expect(v.state).toBe('paused');
    expect(v.pauseKind).toBe('failures');
    expect(v.pausedReason).toBe('stage 1: 3 of 5 results failed (60%), above the failure threshold 30%; most common result: 410 (3)');
    await report(first[5] as Device, 402);
    expect((await view(id)).stages[0]?.failures).toEqual({ '410': 3, '402': 1 });
    expect(v.stages[1]).toMatchObject({ state: 'pending', counts: { pending: 30 } });
    // Devices already working still report while paused; later stages stay untouched.
    await report(first[6] as Device, 200);
    expect(await poll(second[0] as Device)).toBe(false);

    v = (await (await act(id, 'resume', server.tokens.operator, { reason: 'bad batch of boards; carry on' })).json()) as CampaignView;
    expect(v.state).toBe('running');
    expect(v.pausedReason).toBeUndefined();
    // Only results after the resume count now: three more successes finish stage 1 (7 of 10 >= 60%).
    for (const d of first.slice(7)) await report(d, 200);
    v = await view(id);
    expect(v.stages[0]).toMatchObject({ state: 'done', counts: { succeeded: 6, failed: 4 } });
    expect(v.stages[1]?.state).toBe('running');
    expect(await poll(second[0] as Device)).toBe(true);
  });

  it('retries transient failures after a backoff without counting them, and fails silent devices by timeout', async () => {
    const devices = await fleet(3, '1.0', 'flaky');
    const id = await create('flaky', { stages: [{ percent: 100 }], minSample: 1, failureThreshold: 0.9, timeoutMinutes: 30 });
    await act(id, 'start');
    const [a, b] = devices as [Device, Device, Device];
    expect(await poll(a)).toBe(true);
    await report(a, 503);
    let v = await view(id);
    expect(v.stages[0]?.counts).toMatchObject({ failed: 0, scheduled: 3 });
    expect(await poll(a)).toBe(false); // backing off
    server.clock.advance(61_000);
    expect(await poll(a)).toBe(true);

    expect(await poll(b)).toBe(true);
    server.clock.advance(31 * 60_000);
    await tickCampaigns(server.ctx);
    v = await view(id);
    expect(v.stages[0]?.failures).toEqual({ timeout: 2 });
    const history = (await (await server.api(`/api/v1/deployments/${(await deploymentOf(b.id)).id}`, { token: server.tokens.operator })).json()) as { history: Array<{ cause: string }> };
    expect(history.history.at(-1)?.cause).toMatch(/^timeout: no news from the device since /);
  });

  it('pauses a stage that finished below its success threshold, and moves on when the operator resumes', async () => {
    const devices = await fleet(4, '1.0', 'short');
    const id = await create('short', { stages: [{ percent: 50 }, { percent: 100 }], successThreshold: 1, failureThreshold: 0.9, minSample: 10 });
    await act(id, 'start');
    const [first = []] = await byStage(id, devices);
    for (const d of first) await poll(d);
    await report(first[0] as Device, 200);
    await report(first[1] as Device, 410);
    let v = await view(id);
    expect(v).toMatchObject({ state: 'paused', pauseKind: 'below-success', pausedReason: 'stage 1 finished with 1 of 2 succeeded (50%), below the success threshold 100%' });
    expect(v.pausedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    v = (await (await post(`/api/v1/campaigns/${id}/resume`, { reason: 'known bad unit' })).json()) as CampaignView;
    // One resume moves on, and its own answer shows it.
    expect(v.state).toBe('running');
    expect(v.stages.map((s) => s.state)).toEqual(['done', 'running']);
    // The stage says it was an override, by whom and why, with the figures it had.
    // Its failure is accepted too: the operator has seen the stage as it is.
    const figures = { by: 'ops', reason: 'known bad unit', at: expect.any(String), succeeded: 1, failed: 1, total: 2 };
    expect(v.stages[0]?.overrides).toEqual([
      { kind: 'accepted-failures', ...figures },
      { kind: 'moved-on', ...figures },
    ]);
  });

  it('moves a settled stage on with one resume after a failure pause (no second pause with the same finding)', async () => {
    const devices = await fleet(8, '1.0', 'settled-failing');
    const id = await create('settled-failing', { stages: [{ percent: 50 }, { percent: 100 }], successThreshold: 0.9, failureThreshold: 0.2, minSample: 4 });
    await act(id, 'start');
    const [first = []] = await byStage(id, devices);
    expect(first).toHaveLength(4);
    for (const d of first) await poll(d);
    for (const [i, code] of [200, 410, 200, 410].entries()) await report(first[i] as Device, code);
    let v = await view(id);
    expect(v).toMatchObject({ state: 'paused', pauseKind: 'failures' });
    v = (await (await act(id, 'resume', server.tokens.operator, { reason: 'two boards from the bad lot' })).json()) as CampaignView;
    expect(v).toMatchObject({ state: 'running', currentStage: 1, currentStageState: 'running' });
    expect(v.pausedReason).toBeUndefined();
    expect(v.stages[0]?.overrides.map((o) => o.kind)).toEqual(['accepted-failures', 'moved-on']);
    expect((await view(id)).state).toBe('running');
  });
});

describe('operator controls', () => {
  it('pause stops commanding devices; resume lets them go', async () => {
    const devices = await fleet(2, '1.0', 'pausing');
    const id = await create('pausing', { stages: [{ percent: 100 }] });
    await act(id, 'start');
    const paused = (await (await act(id, 'pause', server.tokens.operator, { reason: 'change freeze' })).json()) as CampaignView;
    expect(paused).toMatchObject({ state: 'paused', pauseKind: 'operator', pausedReason: 'paused by ops: change freeze' });
    expect(await poll(devices[0] as Device)).toBe(false);
    expect((await act(id, 'pause')).status).toBe(409);
    expect((await act(id, 'resume')).status).toBe(200);
    expect(await poll(devices[0] as Device)).toBe(true);
  });

  it('abort cancels what was not commanded; a device already updating still reports', async () => {
    const devices = await fleet(3, '1.0', 'aborting');
    const id = await create('aborting', { stages: [{ percent: 100 }] });
    await act(id, 'start');
    const [working, idle] = devices as [Device, Device, Device];
    expect(await poll(working)).toBe(true);
    const v = (await (await act(id, 'abort', server.tokens.operator, { reason: 'wrong build' })).json()) as CampaignView;
    expect(v.state).toBe('aborted');
    expect(v.totals).toMatchObject({ canceled: 2, commanded: 1 });
    expect(await poll(idle)).toBe(false);
    await report(working, 200);
    expect((await view(id)).totals).toMatchObject({ canceled: 2, succeeded: 1 });
    expect((await act(id, 'abort')).status).toBe(409);
    expect((await act(id, 'resume')).status).toBe(409);
  });

  it('commands devices only inside the maintenance window', async () => {
    const devices = await fleet(1, '1.0', 'window');
    const today = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][new Date(server.clock.now()).getUTCDay()] ?? 'sun';
    const closed = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'].filter((d) => d !== today && d !== ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][(new Date(server.clock.now()).getUTCDay() + 6) % 7]);
    const id = await create('window', { stages: [{ percent: 100 }], maintenanceWindow: { timeZone: 'UTC', days: closed, start: '00:00', end: '00:00' } });
    await act(id, 'start');
    expect(await poll(devices[0] as Device)).toBe(false);
    // The campaign says why nothing moves and when it will: the first closed-now day at midnight UTC.
    const tomorrow = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][(new Date(server.clock.now()).getUTCDay() + 1) % 7] ?? 'sun';
    const opens = `${tomorrow.charAt(0).toUpperCase()}${tomorrow.slice(1)} 00:00 UTC`;
    const closedView = await view(id);
    expect(closedView.windowNow).toEqual({ open: false, opensAt: expect.stringMatching(/T00:00:00\.000Z$/), opensLocal: opens });
    expect(closedView.currentStageState).toBe('running');
    const listed = ((await (await server.api('/api/v1/campaigns', { token: server.tokens.operator })).json()) as { items: Array<{ id: string; windowNow: unknown }> }).items;
    expect(listed.find((c) => c.id === id)?.windowNow).toEqual(closedView.windowNow);
    // The same device in a window that is open today.
    await act(id, 'abort');
    const open = await create('window', { stages: [{ percent: 100 }], maintenanceWindow: { timeZone: 'UTC', days: [today], start: '00:00', end: '00:00' } });
    await act(open, 'start');
    expect(await poll(devices[0] as Device)).toBe(true);
    expect((await view(open)).windowNow).toEqual({ open: true, opensAt: null, opensLocal: null });
  });

  it('waits out the soak time before the next stage', async () => {
    const devices = await fleet(2, '1.0', 'soak');
    const id = await create('soak', { stages: [{ percent: 50 }, { percent: 100 }], soakSeconds: 600 });
    await act(id, 'start');
    const [first = []] = await byStage(id, devices);
    for (const d of first) {
      await poll(d);
      await report(d, 200);
    }
    expect((await view(id)).stages.map((s) => s.state)).toEqual(['running', 'pending']);
    server.clock.advance(601_000);
    await tickCampaigns(server.ctx);
    expect((await view(id)).stages.map((s) => s.state)).toEqual(['done', 'running']);
  });

  it('takes devices that match a dynamic cohort later into the running campaign', async () => {
    await fleet(2, '1.0', 'dynamic');
    const id = await create('dynamic', { stages: [{ percent: 100 }], dynamic: true });
    await act(id, 'start');
    const [late] = await fleet(1, '1.0', 'dynamic');
    server.clock.advance(10 * server.ctx.config.campaigns.tickMs + 1);
    await tickCampaigns(server.ctx);
    const v = await view(id);
    expect(v.cohortSize).toBe(3);
    expect(v.stages[0]).toMatchObject({ size: 3, counts: { scheduled: 3 } });
    expect(await poll(late as Device)).toBe(true);
  });
});

describe('big stages', () => {
  it('schedules a stage a chunk at a time, queuing Package 0 for each chunk once', async () => {
    await fleet(25, '1.0', 'chunks');
    const id = await create('chunks', { stages: [{ percent: 100, requiresApproval: true }] });
    await act(id, 'start');
    const queued = () => selectRow(server.ctx.db, 'SELECT count(DISTINCT device_id) AS devices, count(*) AS n FROM notification_queue WHERE campaign_id = ?', id);
    const chunk = () => server.ctx.db.transaction((tx) => scheduleStage(tx, id, 0, server.clock.now(), true, 10));
    expect([await chunk(), await chunk(), await chunk(), await chunk()]).toEqual([10, 10, 5, 0]);
    expect((await view(id)).stages[0]?.counts).toMatchObject({ pending: 0, scheduled: 25 });
    expect(await queued()).toEqual({ devices: 25, n: 25 });
    // Aborting drops what is still queued for the campaign.
    await act(id, 'abort');
    expect(await queued()).toEqual({ devices: 0, n: 0 });
  });
});

describe('Package 0 when a stage starts', () => {
  let hook: Server;
  const received: string[] = [];
  beforeAll(async () => {
    hook = createServer((req, res) => {
      received.push(req.url ?? '');
      req.resume();
      req.on('end', () => res.end());
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    return () => new Promise<void>((resolve) => hook.close(() => resolve()));
  });

  it('queues one notification per device of the stage and sends them at the configured rate', async () => {
    const { port } = hook.address() as AddressInfo;
    const devices = await fleet(6, '1.0', 'notify', {});
    for (const d of devices) {
      await runSql(server.ctx.db, 'UPDATE devices SET webhook_url = ? WHERE id = ?', `http://127.0.0.1:${port}/notify/${d.id}`, d.id);
    }
    // What earlier tests' campaigns left queued (devices without webhooks) goes first.
    while ((await sendQueuedNotifications(server.ctx, 100)) > 0);
    const id = await create('notify', { stages: [{ percent: 50 }, { percent: 100 }] });
    await act(id, 'start');
    const [first = []] = await byStage(id, devices);
    const queued = async () => (await selectRow<{ n: number }>(server.ctx.db, 'SELECT count(*) AS n FROM notification_queue WHERE campaign_id = ?', id))?.n ?? 0;
    // One per device of the first stage, sent 2 at a time.
    const before = received.length;
    expect(await queued()).toBe(first.length);
    expect(await sendQueuedNotifications(server.ctx, 2)).toBe(2);
    expect(received.length - before).toBe(2);
    while ((await queued()) > 0) await sendQueuedNotifications(server.ctx, 2);
    await expect.poll(() => received.filter((url) => first.some((d) => url.endsWith(`/${d.id}`))).length).toBe(first.length);
    // Devices of the later stage were not woken.
    expect(received.some((url) => devices.filter((d) => !first.includes(d)).some((d) => url.endsWith(`/${d.id}`)))).toBe(false);
  });
});
