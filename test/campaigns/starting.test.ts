// A campaign start a chunk at a time: the stages come out exactly as one pass over the
// whole cohort would place them; while it runs the campaign says 'starting' and how many
// devices it placed so far; a start cut off mid-way (the process died) is finished by the
// campaign loop's resumption without a device placed twice or left out; a cohort that
// matches no device is refused with what each part of its filter matched.
import { beforeAll, describe, expect, it } from 'vitest';
import { assignStages } from '../../src/campaigns/assign.ts';
import type { CampaignView } from '../../src/campaigns/schemas.ts';
import { START_CHUNK, resumeStalledStarts } from '../../src/campaigns/starting.ts';
import { startCampaign } from '../../src/campaigns/start.ts';
import { drawCampaign } from '../../src/cli/campaign.ts';
import type { Store, Tx } from '../../src/store/store.ts';
import { nextBuild, pseudoRandom } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { runSql, selectRows } from '../support/sql.ts';

const MODEL = 'meter-s';
/**
 * More than two chunks, so a start cut after two has devices on both sides of its cursor:
 * the first takes START_CHUNK devices, the second at most half as many again (chunks are
 * sized by time, chunk-pace.ts).
 */
const FLEET = 3 * START_CHUNK + 1_234;
const PERCENTS = [1, 10, 50, 100];
let server: TestServer;
let buildId: string;

beforeAll(async () => {
  server = await startTestServer();
  const v1 = pseudoRandom(20_000, 'starting-v1');
  for (const [version, image] of [['1.0', v1], ['2.0', nextBuild(v1)]] as const) {
    const build = await server.upload(MODEL, version, image);
    expect(build.status).toBe('ready');
    buildId = build.id;
  }
}, 120_000);

/** `n` devices tagged `tag`, inserted in batches (registering them over HTTP would take minutes). */
async function fleet(tag: string, n: number, versionOf: (i: number) => string | null): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `st-${tag}-${String(i).padStart(6, '0')}`);
  await server.ctx.db.transaction(async (tx) => {
    for (let i = 0; i < n; i += 500) {
      await tx.q.insert(tx.t.devices).values(ids.slice(i, i + 500).map((id, k) => ({ id, model: MODEL, firmwareVersion: versionOf(i + k), tags: JSON.stringify([tag]), createdAt: 0 })));
    }
  });
  return ids;
}

/**
 * A POST, sent again once when the keep-alive socket it went out on had just been closed by
 * the server (ECONNRESET: the request never reached it). These tests idle for seconds
 * between requests while they insert thousands of devices, past the server's keep-alive.
 */
async function post(path: string, body: unknown): Promise<Response> {
  const send = () => server.api(path, { method: 'POST', token: server.tokens.operator, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  try {
    return await send();
  } catch (err) {
    if ((err as { cause?: { code?: string } }).cause?.code !== 'ECONNRESET') throw err;
    return send();
  }
}
const view = async (id: string) => (await (await server.api(`/api/v1/campaigns/${id}`, { token: server.tokens.operator })).json()) as CampaignView;

async function create(cohort: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await post('/api/v1/campaigns', {
    name: `starting ${JSON.stringify(cohort)}`,
    buildId,
    cohort,
    stages: PERCENTS.map((percent) => ({ percent, requiresApproval: false })),
    successThreshold: 0.9,
    failureThreshold: 0.2,
    minSample: 5,
    ...extra,
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** Every deployment of the campaign: device and stage. */
const placed = (campaignId: string) => selectRows<{ device_id: string; stage: number }>(server.ctx.db, 'SELECT device_id, stage FROM deployments WHERE campaign_id = ?', campaignId);

/** The store, except that the `crashAt`-th transaction from now throws: the process "dies" there. */
function dyingAt(db: Store, crashAt: number): Store {
  let n = 0;
  return {
    ...db,
    transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
      n += 1;
      if (n >= crashAt) return Promise.reject(new Error('the process died'));
      return db.transaction(fn);
    },
  };
}

describe('a campaign start in chunks', () => {
  it('places every eligible device once, in exactly the stages one pass over the cohort gives, and counts those left out', async () => {
    // Every 7th already on the target, every 11th never reported a version.
    const ids = await fleet('whole', FLEET, (i) => (i % 7 === 0 ? '2.0' : i % 11 === 0 ? null : '1.0'));
    // Two devices busy with a one-device deployment are left out too.
    for (const deviceId of [ids[1], ids[2]]) expect((await post('/api/v1/deployments', { deviceId, buildId })).status).toBe(201);
    const id = await create({ tags: ['whole'] });
    const res = await post(`/api/v1/campaigns/${id}/start`, {});
    expect(res.status, await res.clone().text()).toBe(200);
    const eligible = ids.filter((_, i) => i % 7 !== 0 && i !== 1 && i !== 2);
    const expected = assignStages(id, eligible, PERCENTS);
    const rows = await placed(id);
    expect(rows.length).toBe(eligible.length);
    const stageOf = new Map(rows.map((r) => [r.device_id, Number(r.stage)]));
    expect(stageOf.size).toBe(eligible.length);
    expect(eligible.every((deviceId, i) => stageOf.get(deviceId) === expected[i])).toBe(true);
    const v = await view(id);
    expect(v).toMatchObject({ state: 'running', cohortSize: eligible.length, alreadyCurrent: Math.ceil(FLEET / 7), busy: 2 });
    const sizes = [0, 0, 0, 0];
    for (const s of expected) sizes[s] = (sizes[s] ?? 0) + 1;
    expect(v.stages.map((s) => s.size)).toEqual(sizes);
    // Stage 1 (1%) is scheduled before the start answers.
    expect(v.stages[0]?.counts.scheduled).toBe(sizes[0]);
    // No package is chosen at the start: it is chosen when the device is commanded.
    expect(await selectRows(server.ctx.db, 'SELECT id FROM deployments WHERE campaign_id = ? AND package_id IS NOT NULL', id)).toEqual([]);
  }, 120_000);

  it('shows a start cut off mid-way as starting with its progress, and the resumption finishes it without duplicates or losses', async () => {
    const ids = await fleet('cut', FLEET, () => '1.0');
    const id = await create({ tags: ['cut'] });
    // Transactions: the start's checks, the stage bounds, chunk 1, chunk 2; the 5th (chunk 3) dies.
    await expect(startCampaign({ ...server.ctx, db: dyingAt(server.ctx.db, 5) }, { tokenId: 'tok_x', tokenName: 'laptop', personId: 'psn_x', personLogin: 'op', name: 'an operator', role: 'operator', manufacturerId: null, manufacturer: null }, id)).rejects.toThrow('the process died');

    const cut = await view(id);
    const placedSoFar = (await placed(id)).length;
    // Two chunks placed: the first's START_CHUNK devices and some of the second's, not all.
    expect(placedSoFar).toBeGreaterThan(START_CHUNK);
    expect(placedSoFar).toBeLessThan(FLEET);
    expect(cut).toMatchObject({ state: 'starting', cohortSize: placedSoFar });
    expect(drawCampaign(cut)).toContain(`starting: ${placedSoFar} devices placed so far`);
    // Operators cannot act on it meanwhile, nor start it twice.
    expect((await post(`/api/v1/campaigns/${id}/start`, {})).status).toBe(409);
    expect((await post(`/api/v1/campaigns/${id}/pause`, {})).status).toBe(409);

    // A start still moving is left to its driver; one silent for a lease period is taken up.
    await resumeStalledStarts(server.ctx, server.ctx.config.campaigns.leaseMs);
    expect((await view(id)).state).toBe('starting');
    server.clock.advance(server.ctx.config.campaigns.leaseMs + 1);
    await resumeStalledStarts(server.ctx, server.ctx.config.campaigns.leaseMs);

    const rows = await placed(id);
    expect(rows.length).toBe(FLEET);
    expect(new Set(rows.map((r) => r.device_id)).size).toBe(FLEET);
    const expected = assignStages(id, ids, PERCENTS);
    const stageOf = new Map(rows.map((r) => [r.device_id, Number(r.stage)]));
    expect(ids.every((deviceId, i) => stageOf.get(deviceId) === expected[i])).toBe(true);
    const done = await view(id);
    expect(done).toMatchObject({ state: 'running', cohortSize: FLEET, alreadyCurrent: 0, busy: 0 });
    expect(done.stages.reduce((sum, s) => sum + s.size, 0)).toBe(FLEET);
    const audit = await selectRows<{ action: string }>(server.ctx.db, "SELECT action FROM audit_events WHERE subject = ? AND action LIKE 'campaign.start%' ORDER BY at, action", id);
    expect(audit.map((a) => a.action)).toEqual(['campaign.start', 'campaign.started']);
  }, 120_000);

  it('refuses to start a cohort that matches no device (409), saying what each part of the filter matched, and keeps the draft', async () => {
    await fleet('few', 3, (i) => (i === 0 ? '1.0' : '1.1'));
    const id = await create({ tags: ['few'], versions: ['0.9'] });
    const res = await post(`/api/v1/campaigns/${id}/start`, {});
    expect(res.status).toBe(409);
    const body = (await res.json()) as { error: { code: string; message: string; devicesOfModel: number; matched: Record<string, unknown> } };
    expect(body.error.message).toMatch(/the cohort matches no device: devices of model meter-s: \d+; of those, matched by versions 0, tags \{"few":3\}/);
    expect(body.error.matched).toEqual({ versions: 0, tags: { few: 3 } });
    expect(body.error.devicesOfModel).toBeGreaterThanOrEqual(3);
    expect((await view(id)).state).toBe('draft');

    // A dynamic campaign may start empty: devices join as they come to match.
    const dynamic = await create({ tags: ['nobody-yet'] }, { dynamic: true });
    expect((await post(`/api/v1/campaigns/${dynamic}/start`, {})).status).toBe(200);
    await runSql(server.ctx.db, 'UPDATE campaigns SET state = ? WHERE id = ?', 'aborted', dynamic);
  });
});
