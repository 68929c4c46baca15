// A rollback of a campaign that updated 50,000 devices: the draft names the campaign (no
// list of ids to cap), and its start gives a deployment to every device the campaign
// updated and to none other: not those whose deployment in it failed, not the rest of the
// model's fleet. The fleet and the finished campaign are inserted in bulk (no DM sessions).
import { beforeAll, describe, expect, it } from 'vitest';
import type { CampaignView } from '../../src/campaigns/schemas.ts';
import { nextBuild, pseudoRandom } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { selectRows } from '../support/sql.ts';

const MODEL = 'rb-scale';
const UPDATED = 50_000;
const FAILED = 2_000;
const BYSTANDERS = 2_000;
const SOURCE = 'cmp_rbscale';
let server: TestServer;
let v1: string;
let v2: string;

beforeAll(async () => {
  server = await startTestServer();
  const image = pseudoRandom(20_000, 'rb-scale-v1');
  v1 = (await server.upload(MODEL, '1.0', image)).id;
  v2 = (await server.upload(MODEL, '2.0', nextBuild(image))).id;
}, 120_000);

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(6, '0')}`);

/** The fleet and a completed campaign to 2.0: UPDATED succeeded, FAILED failed, BYSTANDERS never in it. */
async function seed(): Promise<string[]> {
  const updated = ids('rbs-up', UPDATED);
  const failed = ids('rbs-failed', FAILED);
  const bystanders = ids('rbs-by', BYSTANDERS);
  const now = Date.now();
  await server.ctx.db.transaction(async (tx) => {
    const { campaigns, deployments, devices } = tx.t;
    await tx.q.insert(campaigns).values({ id: SOURCE, name: 'to 2.0', buildId: v2, model: MODEL, cohort: JSON.stringify({ model: MODEL }), state: 'completed', successThreshold: 0.9, failureThreshold: 0.5, minSample: 10, timeoutMs: 3_600_000, createdBy: 'seed', createdByName: 'seed', createdAt: now, updatedAt: now });
    const fleet = [...updated.map((id) => [id, '2.0'] as const), ...failed.map((id) => [id, '1.0'] as const), ...bystanders.map((id) => [id, '2.0'] as const)];
    for (let i = 0; i < fleet.length; i += 1000) {
      await tx.q.insert(devices).values(fleet.slice(i, i + 1000).map(([id, version]) => ({ id, model: MODEL, firmwareVersion: version, tags: '[]', createdAt: now })));
    }
    const rows = [...updated.map((id) => [id, 'succeeded'] as const), ...failed.map((id) => [id, 'failed'] as const)];
    for (let i = 0; i < rows.length; i += 1000) {
      await tx.q.insert(deployments).values(rows.slice(i, i + 1000).map(([id, state]) => ({ id: `dep_rbs_${id}`, deviceId: id, buildId: v2, state, campaignId: SOURCE, stage: 0, createdAt: now, updatedAt: now })));
    }
  });
  return updated;
}

/**
 * A POST, sent again when the keep-alive socket it went out on had just been closed by the
 * server (ECONNRESET: the request never reached it). Seeding holds the event loop past the
 * keep-alive timeout, so every socket the client keeps (one per earlier request in flight
 * at once) may be stale: up to a few tries, each on the next socket.
 */
async function post(path: string, body: unknown): Promise<Response> {
  const send = () => server.api(path, { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  for (let tries = 1; ; tries += 1) {
    try {
      return await send();
    } catch (err) {
      if (tries >= 4 || (err as { cause?: { code?: string } }).cause?.code !== 'ECONNRESET') throw err;
    }
  }
}

describe('a rollback beyond 10,000 devices', () => {
  it('rolls back every one of the 50,000 devices a campaign updated, and no other device', { timeout: 600_000 }, async () => {
    const updated = await seed();
    const made = await post(`/api/v1/campaigns/${SOURCE}/rollback`, { reason: 'battery drain' });
    expect(made.status, await made.clone().text()).toBe(201);
    const rollback = (await made.json()) as { id: string; buildId: string; version: string; devices: number };
    expect(rollback).toMatchObject({ buildId: v1, version: '1.0', devices: UPDATED });
    const draft = (await (await server.api(`/api/v1/campaigns/${rollback.id}`, { token: server.tokens.operator })).json()) as CampaignView;
    expect(draft.cohort).toEqual({ model: MODEL, updatedByCampaign: SOURCE });

    const started = await post(`/api/v1/campaigns/${rollback.id}/start`, {});
    expect(started.status, await started.clone().text()).toBe(200);
    expect((await started.json()) as CampaignView).toMatchObject({ cohortSize: UPDATED, alreadyCurrent: 0, busy: 0 });
    const placed = await selectRows<{ device_id: string }>(server.ctx.db, 'SELECT device_id FROM deployments WHERE campaign_id = ? ORDER BY device_id', rollback.id);
    expect(placed.length).toBe(UPDATED);
    expect(placed.map((r) => r.device_id)).toEqual(updated);
  });
});
