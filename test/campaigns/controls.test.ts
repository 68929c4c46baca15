// Campaign controls through a real server and real DM sessions: a scheduled start (the
// campaign stays a draft "scheduled for ..." and the engine starts it when due, as the
// operator who scheduled it; a start refused then clears the schedule and says why) and
// forced campaigns (commanded outside the maintenance window, only with a reason, audited).
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectKeptCountsMatchRows } from '../support/stage-counts.ts';
import { startDueCampaigns } from '../../src/campaigns/schedule.ts';
import { loadConfig } from '../../src/config.ts';
import type { CampaignView } from '../../src/campaigns/schemas.ts';
import { alertXml, DmTestClient } from '../support/dm-test-client.ts';
import { nextBuild, pseudoRandom } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { selectRows } from '../support/sql.ts';

const MODEL = 'router-ctl';
let server: TestServer;
let target: string;

beforeAll(async () => {
  // The engine's own timer would start due campaigns too; an hour's tick leaves that to the test.
  server = await startTestServer({ campaigns: { ...loadConfig({}).campaigns, evaluateEveryMs: 0, tickMs: 3_600_000 } });
  const v1 = pseudoRandom(60_000, 'controls-v1');
  for (const [version, image] of [['1.0', v1], ['2.0', nextBuild(v1)]] as const) target = (await server.upload(MODEL, version, image)).id;
});

// Whatever the test did to the campaigns' deployments, their kept counts still match the rows.
afterEach(() => expectKeptCountsMatchRows(server.ctx.db));

const post = (path: string, body: unknown) => server.api(path, { method: 'POST', token: server.tokens.operator, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
const view = async (id: string) => (await (await server.api(`/api/v1/campaigns/${id}`, { token: server.tokens.operator })).json()) as CampaignView;

let seq = 0;
async function device(tag: string): Promise<DmTestClient> {
  const id = `ctl-dev-${++seq}`;
  const res = await post('/api/v1/devices', { id, model: MODEL, firmwareVersion: '1.0', tags: [tag], credentials: { username: id, password: 'device-password' } });
  expect(res.status).toBe(201);
  return new DmTestClient({ url: `${server.url}/dm`, devId: id, username: id, password: 'device-password', tree: { './DevDetail/FwV': '1.0', './DevDetail/SwV': '1', './DevDetail/HwV': 'A' } });
}

async function create(tag: string, extra: Record<string, unknown> = {}): Promise<Response> {
  return post('/api/v1/campaigns', { name: `controls ${tag}`, buildId: target, cohort: { tags: [tag] }, stages: [{ percent: 100 }], ...extra });
}

async function created(tag: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await create(tag, extra);
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** A session of the device: true when the server commanded the update in it. */
async function commanded(client: DmTestClient): Promise<boolean> {
  client.tree.delete('./FUMO/fota/DownloadAndUpdate/PkgURL');
  await client.session();
  await server.campaigns.idle();
  return client.tree.has('./FUMO/fota/DownloadAndUpdate/PkgURL');
}

const auditOf = async (id: string) => (await selectRows(server.ctx.db, `select action, details from audit_events where subject = '${id}' order by at, id`)) as Array<{ action: string; details: string }>;

describe('scheduled start', () => {
  it('keeps the campaign a draft scheduled for its time, then the engine starts it as the operator who scheduled it', async () => {
    const client = await device('scheduled');
    const id = await created('scheduled');
    const at = new Date(server.clock.now() + 3_600_000);
    at.setUTCMilliseconds(0);
    const res = await post(`/api/v1/campaigns/${id}/start`, { startAt: at.toISOString(), reason: 'night run' });
    expect(res.status).toBe(200);
    expect((await res.json()) as CampaignView).toMatchObject({ state: 'draft', scheduledFor: at.toISOString() });
    expect(await startDueCampaigns(server.ctx)).toBe(0);
    expect(await commanded(client)).toBe(false);
    server.clock.advance(3_600_000);
    expect(await startDueCampaigns(server.ctx)).toBe(1);
    expect(await view(id)).toMatchObject({ state: 'running', scheduledFor: null, cohortSize: 1 });
    expect(await commanded(client)).toBe(true);
    const audit = await auditOf(id);
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['campaign.schedule', 'campaign.start']));
    const start = audit.find((a) => a.action === 'campaign.start');
    expect(JSON.parse(start?.details ?? '{}')).toMatchObject({ by: 'ops', reason: `scheduled start (${at.toISOString()})` });
    expect((await post(`/api/v1/campaigns/${id}/abort`, {})).status).toBe(200);
  });

  it('takes startAt at creation too, and a start time already past starts at the next pass', async () => {
    await device('scheduled-create');
    const id = await created('scheduled-create', { startAt: new Date(server.clock.now() - 1000).toISOString() });
    expect((await view(id)).state).toBe('draft');
    expect(await startDueCampaigns(server.ctx)).toBe(1);
    expect((await view(id)).state).toBe('running');
    expect((await post(`/api/v1/campaigns/${id}/abort`, {})).status).toBe(200);
  });

  it('clears a scheduled start the server refuses when it is due, and says why in the audit log', async () => {
    await device('scheduled-conflict');
    const first = await created('scheduled-conflict');
    const second = await created('scheduled-conflict', { startAt: new Date(server.clock.now() + 60_000).toISOString() });
    expect((await post(`/api/v1/campaigns/${first}/start`, {})).status).toBe(200);
    server.clock.advance(60_000);
    expect(await startDueCampaigns(server.ctx)).toBe(0);
    expect(await view(second)).toMatchObject({ state: 'draft', scheduledFor: null });
    const failed = (await auditOf(second)).find((a) => a.action === 'campaign.start-failed');
    expect(JSON.parse(failed?.details ?? '{}').reason).toMatch(/^1 device\(s\) of this cohort are in campaign cmp_\w+, which is still running or paused/);
    expect(await startDueCampaigns(server.ctx)).toBe(0);
    expect((await post(`/api/v1/campaigns/${first}/abort`, {})).status).toBe(200);
  });

  it('an aborted scheduled draft never starts', async () => {
    await device('scheduled-abort');
    const id = await created('scheduled-abort', { startAt: new Date(server.clock.now() + 60_000).toISOString() });
    expect((await post(`/api/v1/campaigns/${id}/abort`, {})).status).toBe(200);
    server.clock.advance(60_000);
    await startDueCampaigns(server.ctx);
    expect((await view(id)).state).toBe('aborted');
  });

  it.each([
    ['a time without a zone', '2026-12-24T22:00:00'],
    ['not a time', 'tomorrow'],
    ['a date alone', '2026-12-24'],
  ])('refuses startAt as %s (400)', async (_what, startAt) => {
    const id = await created('scheduled-bad');
    expect((await post(`/api/v1/campaigns/${id}/start`, { startAt })).status).toBe(400);
    expect((await create('scheduled-bad', { startAt })).status).toBe(400);
  });
});

describe('forced campaigns', () => {
  const closedWindow = () => {
    const days = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
    const today = new Date(server.clock.now()).getUTCDay();
    // Neither today nor yesterday (a window past midnight), so it is closed now.
    return { timeZone: 'UTC', days: days.filter((_, i) => i !== today && i !== (today + 6) % 7), start: '00:00', end: '00:00' };
  };

  it('commands devices at any time when created forced, with the reason in the view and the audit log', async () => {
    const client = await device('forced');
    const id = await created('forced', { forced: { reason: 'CVE-2026-1234 is exploited in the wild' } });
    expect((await post(`/api/v1/campaigns/${id}/start`, {})).status).toBe(200);
    expect(await commanded(client)).toBe(true);
    expect((await view(id)).forcedReason).toBe('CVE-2026-1234 is exploited in the wild');
    const forced = (await auditOf(id)).find((a) => a.action === 'campaign.force');
    expect(JSON.parse(forced?.details ?? '{}')).toMatchObject({ by: 'ops', reason: 'CVE-2026-1234 is exploited in the wild' });
    expect((await post(`/api/v1/campaigns/${id}/abort`, {})).status).toBe(200);
  });

  it('forcing a running campaign outside its window commands its devices from then on', async () => {
    const client = await device('force-later');
    const id = await created('force-later', { maintenanceWindow: closedWindow() });
    expect((await post(`/api/v1/campaigns/${id}/start`, {})).status).toBe(200);
    expect(await commanded(client)).toBe(false);
    expect((await post(`/api/v1/campaigns/${id}/force`, {})).status).toBe(400);
    expect((await post(`/api/v1/campaigns/${id}/force`, { reason: '  ' })).status).toBe(400);
    const res = await post(`/api/v1/campaigns/${id}/force`, { reason: 'the carrier lifted the night-only rule' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as CampaignView).forcedReason).toBe('the carrier lifted the night-only rule');
    expect(await commanded(client)).toBe(true);
    expect((await post(`/api/v1/campaigns/${id}/abort`, {})).status).toBe(200);
    expect((await post(`/api/v1/campaigns/${id}/force`, { reason: 'too late' })).status).toBe(409);
  });

  it('refuses a forced campaign without a reason, or with a maintenance window (400)', async () => {
    expect((await create('forced-bad', { forced: {} })).status).toBe(400);
    expect((await create('forced-bad', { forced: { reason: '' } })).status).toBe(400);
    const both = await create('forced-bad', { forced: { reason: 'urgent fix' }, maintenanceWindow: closedWindow() });
    expect(both.status).toBe(400);
    expect(((await both.json()) as { error: { message: string } }).error.message).toContain('a forced campaign ignores maintenance windows');
  });
});

describe('rollback campaigns', () => {
  /** Uploads versions of a model with the given securityVersions; returns the build ids. */
  async function builds(model: string, versions: Array<[string, number]>): Promise<string[]> {
    const ids: string[] = [];
    let image = pseudoRandom(40_000, `${model}-base`);
    for (const [version, securityVersion] of versions) {
      const res = await server.api(`/api/v1/builds?model=${model}&version=${version}&securityVersion=${securityVersion}`, { method: 'POST', token: server.tokens.acme, body: image });
      expect(res.status).toBe(202);
      const built = await server.settled(((await res.json()) as { id: string }).id);
      expect(built.status).toBe('ready');
      ids.push(built.id);
      image = nextBuild(image, version);
    }
    return ids;
  }

  async function updatedBy(model: string, buildId: string, tag: string): Promise<{ campaignId: string; client: DmTestClient }> {
    const id = `rb-dev-${++seq}`;
    expect((await post('/api/v1/devices', { id, model, firmwareVersion: '1.0', tags: [tag], credentials: { username: id, password: 'device-password' } })).status).toBe(201);
    const client = new DmTestClient({ url: `${server.url}/dm`, devId: id, username: id, password: 'device-password', tree: { './DevDetail/FwV': '1.0', './DevDetail/SwV': '1', './DevDetail/HwV': 'A' } });
    const res = await post('/api/v1/campaigns', { name: `rb ${tag}`, buildId, cohort: { tags: [tag] }, stages: [{ percent: 100 }] });
    const campaignId = ((await res.json()) as { id: string }).id;
    expect((await post(`/api/v1/campaigns/${campaignId}/start`, {})).status).toBe(200);
    expect(await commanded(client)).toBe(true);
    // The device installed it: it reports FUMO 200 for the attempt, and the new version.
    const [dep] = (await selectRows(server.ctx.db, `select id, attempts from deployments where campaign_id = '${campaignId}'`)) as Array<{ id: string; attempts: number }>;
    client.tree.set('./DevDetail/FwV', '2.0');
    await client.session({ extra: [alertXml('1226', [{ source: './FUMO/fota/DownloadAndUpdate', type: 'org.openmobilealliance.dm.firmwareupdate.downloadandupdate', format: 'int', data: '200' }], `${dep?.id}.${dep?.attempts}`)] });
    await server.campaigns.idle();
    expect((await view(campaignId)).totals.succeeded).toBe(1);
    return { campaignId, client };
  }

  it('creates a draft back to the previous build for the devices the campaign updated, once the campaign has ended', async () => {
    const [v1, v2] = await builds('rb-model', [['1.0', 1], ['2.0', 1]]);
    const { campaignId, client } = await updatedBy('rb-model', String(v2), 'rb');
    const early = await post(`/api/v1/campaigns/${campaignId}/rollback`, {});
    expect(early.status).toBe(201);
    const made = (await early.json()) as { id: string; buildId: string; version: string; devices: number };
    expect(made).toMatchObject({ buildId: v1, version: '1.0', devices: 1 });
    const rollback = await view(made.id);
    expect(rollback).toMatchObject({ state: 'draft', name: 'rollback of rb rb', buildId: v1, cohort: { updatedByCampaign: campaignId } });
    const audit = (await auditOf(campaignId)).find((a) => a.action === 'campaign.rollback');
    expect(JSON.parse(audit?.details ?? '{}')).toMatchObject({ rollbackCampaign: made.id, fromVersion: '2.0', toVersion: '1.0', devices: 1 });
    // Started, the device is commanded to the earlier build (the full image: no delta goes backwards).
    expect((await post(`/api/v1/campaigns/${made.id}/start`, {})).status).toBe(200);
    expect(await commanded(client)).toBe(true);
  });

  it('refuses while the campaign runs, for a draft, and for a campaign that updated no device', async () => {
    const [, v2] = await builds('rb-refuse', [['1.0', 0], ['2.0', 0]]);
    const { campaignId } = await updatedBy('rb-refuse', String(v2), 'rb-refuse');
    const running = await post(`/api/v1/campaigns/${campaignId}/rollback`, {});
    // A one-stage campaign whose device succeeded completes at once; still running is the other case.
    if ((await view(campaignId)).state === 'running') {
      expect(running.status).toBe(409);
      expect(((await running.json()) as { error: { message: string } }).error.message).toContain('abort it first');
    }
    const draft = await created('rb-refuse-draft');
    const res = await post(`/api/v1/campaigns/${draft}/rollback`, {});
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(`campaign ${draft} never started; it updated no device`);
    expect((await post('/api/v1/campaigns/cmp_nope/rollback', {})).status).toBe(404);
  });

  it('refuses, and explains, a rollback to a build with a lower securityVersion (anti-rollback)', async () => {
    const [, v2] = await builds('rb-secure', [['1.0', 3], ['2.0', 4]]);
    const { campaignId } = await updatedBy('rb-secure', String(v2), 'rb-secure');
    const res = await post(`/api/v1/campaigns/${campaignId}/rollback`, { reason: 'battery drain' });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
      "cannot roll back to rb-secure 1.0: its securityVersion 3 is below 2.0's 4, which the updated devices now hold, and a device refuses a lower securityVersion (anti-rollback, FUMO 405). Roll forward instead: upload a fixed build with securityVersion 4 or higher and run a campaign to it.",
    );
  });
});
