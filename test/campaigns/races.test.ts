// Races the database settles. Two servers on one database (each its own store, its own
// connections, real HTTP to each: what two `fota serve` processes behind a balancer are),
// asked at the same moment to do what only one of them may: give a device a deployment, or
// start one of several campaigns over the same devices. Exactly one wins; the others get
// the 409 that names the winner, never a 500 and never a second deployment under way. On
// PostgreSQL the requests run truly concurrently (READ COMMITTED, a connection each); on
// SQLite the two servers share the file and take turns at its write lock.
import { beforeAll, describe, expect, it } from 'vitest';
import type { CampaignView } from '../../src/campaigns/schemas.ts';
import { insertDeployment } from '../../src/store/queries/deployments.ts';
import { nextBuild, pseudoRandom } from '../support/harness.ts';
import { sameDatabaseAs, startTestServer, type TestServer } from '../support/server.ts';
import { selectRows } from '../support/sql.ts';

const MODEL = 'race-r';
let a: TestServer;
let b: TestServer;
let buildId: string;

beforeAll(async () => {
  a = await startTestServer();
  b = await startTestServer({ dataDir: a.ctx.config.dataDir, artifactsDir: a.ctx.config.artifactsDir, ...sameDatabaseAs(a) });
  const v1 = pseudoRandom(20_000, 'races-v1');
  expect((await a.upload(MODEL, '1.0', v1)).status).toBe('ready');
  const v2 = await a.upload(MODEL, '2.0', nextBuild(v1));
  expect(v2.status).toBe('ready');
  buildId = v2.id;
}, 120_000);

/** The request sent to server A (even i) or B (odd i), with that server's operator token. */
function post(i: number, path: string, body: unknown): Promise<Response> {
  const server = i % 2 === 0 ? a : b;
  return server.api(path, { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** `n` devices on 1.0 tagged `tag`, inserted directly (the race is about what comes next). */
async function devices(tag: string, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `race-${tag}-${String(i).padStart(4, '0')}`);
  await a.ctx.db.transaction(async (tx) => {
    await tx.q.insert(tx.t.devices).values(ids.map((id) => ({ id, model: MODEL, firmwareVersion: '1.0', tags: JSON.stringify([tag]), createdAt: 0 })));
  });
  return ids;
}

const activeOf = (deviceId: string) =>
  selectRows<{ id: string; campaign_id: string | null }>(a.ctx.db, "SELECT id, campaign_id FROM deployments WHERE device_id = ? AND state NOT IN ('succeeded', 'failed', 'canceled')", deviceId);

/** An error's message and those of its causes. */
function messages(err: unknown): string {
  const parts: string[] = [];
  for (let e = err; e instanceof Error; e = e.cause) parts.push(e.message);
  return parts.join(' <- ');
}

describe('one deployment under way per device', () => {
  it('gives a device asked for by eight requests on two servers at once one deployment: one 201, seven 409 naming it', async () => {
    const [deviceId = ''] = await devices('one', 1);
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => post(i, '/api/v1/deployments', { deviceId, buildId })));
    const bodies = await Promise.all(answers.map(async (res) => ({ status: res.status, body: (await res.json()) as { id?: string; error?: { code: string; message: string; deploymentId?: string } } })));
    const created = bodies.filter((r) => r.status === 201);
    expect(created, JSON.stringify(bodies)).toHaveLength(1);
    const winner = created[0]?.body.id ?? '';
    const refused = bodies.filter((r) => r.status !== 201);
    expect(refused.map((r) => r.status)).toEqual(Array.from({ length: 7 }, () => 409));
    for (const { body } of refused) {
      expect(body.error).toEqual({ code: 'CONFLICT', message: `device ${deviceId} already has deployment ${winner} under way (scheduled)`, deploymentId: winner });
    }
    expect(await activeOf(deviceId)).toEqual([{ id: winner, campaign_id: null }]);
  });

  it('is held by the database itself: a second deployment under way cannot be inserted, a finished one beside it can', async () => {
    const [deviceId = ''] = await devices('db', 1);
    const row = (id: string, state: string) => ({ id, deviceId, buildId, state, createdAt: 1, updatedAt: 1 });
    await a.ctx.db.transaction((tx) => insertDeployment(tx, row('dep_race_db_1', 'commanded')));
    const refused: unknown = await b.ctx.db.transaction((tx) => insertDeployment(tx, row('dep_race_db_2', 'scheduled'))).then(
      () => undefined,
      (err: unknown) => err,
    );
    // SQLite names the column, PostgreSQL the index (under drizzle's "Failed query").
    expect(messages(refused)).toMatch(/UNIQUE constraint failed: deployments\.device_id|"deployments_one_active_per_device"/);
    await b.ctx.db.transaction((tx) => insertDeployment(tx, row('dep_race_db_3', 'failed')));
    expect(await activeOf(deviceId)).toEqual([{ id: 'dep_race_db_1', campaign_id: null }]);
  });
});

describe('a select-then-insert that loses a race', () => {
  it('registers a device asked for by six requests on two servers at once once: one 201, five 409 saying it is registered', async () => {
    const device = { id: 'race-register', model: MODEL, firmwareVersion: '1.0', credentials: { username: 'race-register', password: 'password-1' } };
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => post(i, '/api/v1/devices', device)));
    const statuses = answers.map((res) => res.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409]);
    for (const res of answers.filter((r) => r.status === 409)) {
      expect(await res.json()).toEqual({ error: { code: 'CONFLICT', message: 'device race-register is already registered' } });
    }
  });
});

describe('one campaign per device', () => {
  it('starts one of four campaigns over the same devices started at once on two servers; the other three get 409 naming it', async () => {
    const ids = await devices('camp', 40);
    const drafts: string[] = [];
    for (let k = 0; k < 4; k++) {
      const res = await post(k, '/api/v1/campaigns', {
        name: `race ${k}`,
        buildId,
        cohort: { tags: ['camp'] },
        stages: [{ percent: 50, requiresApproval: true }, { percent: 100, requiresApproval: false }],
        successThreshold: 0.9,
        failureThreshold: 0.2,
        minSample: 5,
      });
      expect(res.status, await res.clone().text()).toBe(201);
      drafts.push(((await res.json()) as { id: string }).id);
    }
    const answers = await Promise.all(drafts.map((id, k) => post(k, `/api/v1/campaigns/${id}/start`, {})));
    const bodies = await Promise.all(answers.map(async (res) => ({ status: res.status, body: (await res.json()) as CampaignView & { error?: { code: string; message: string; campaignId?: string } } })));
    const started = bodies.filter((r) => r.status === 200);
    expect(started, JSON.stringify(bodies)).toHaveLength(1);
    const winner = started[0]?.body.id ?? '';
    const refused = bodies.filter((r) => r.status !== 200);
    expect(refused.map((r) => r.status)).toEqual([409, 409, 409]);
    for (const { body } of refused) {
      expect(body.error?.campaignId).toBe(winner);
      expect(body.error?.message).toMatch(new RegExp(`^40 device\\(s\\) of this cohort are in campaign ${winner}, which is still (starting|running or paused); a device is in one campaign at a time$`));
    }
    // Every device in the winner, once; the losers are drafts with no deployment.
    const placed = await selectRows<{ device_id: string; campaign_id: string }>(a.ctx.db, "SELECT device_id, campaign_id FROM deployments WHERE device_id LIKE 'race-camp-%' ORDER BY device_id");
    expect(placed).toEqual(ids.map((id) => ({ device_id: id, campaign_id: winner })));
    for (const id of drafts.filter((d) => d !== winner)) {
      expect((await (await a.api(`/api/v1/campaigns/${id}`, { token: a.tokens.operator })).json()) as CampaignView).toMatchObject({ state: 'draft' });
    }
  });
});
