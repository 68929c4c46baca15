// Campaigns end to end with the reference device agent: 100 agents per campaign in this
// process talk OMA DM to a real server on loopback, download over /dl, patch, install
// and report. One campaign runs 10% (approval) -> 50% -> 100% to every device succeeding
// on the target; in another, 30% of the devices fail their installation (FUMO 410): the
// campaign pauses itself in its first stage with the reason, leaves the later stages
// untouched, and carries on once the operator resumes it.
//
// The agents share the fleet simulator's patch pool: all of them patch the same base with
// the same delta, and bspatch is deterministic, so it runs once (in a child process, as
// on a device) and the others take its result. Each agent still downloads and verifies
// its own package and checks what it installs against the signed target hash; two hundred
// child processes (about 10 s of a core) would add nothing that e2e/fumo.test.ts, where
// every agent patches for itself, does not show.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectKeptCountsMatchRows } from '../support/stage-counts.ts';
import type { CampaignView } from '../../src/campaigns/schemas.ts';
import { DeviceAgent } from '../../src/device/agent.ts';
import { SharedImages } from '../../src/device/simulate/images.ts';
import { SharedPatchPool } from '../../src/device/simulate/patches.ts';
import { parseTrust } from '../../src/device/trust.ts';
import type { TrustPolicy } from '../../src/signing/envelope.ts';
import { nextBuild, pseudoRandom, tempDirFor } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { afterAll } from 'vitest';
import { selectRows } from '../support/sql.ts';

const MODEL = 'camera-e2e';
const FLEET = 100;
let server: TestServer;
let targetBuild: string;
let trust: TrustPolicy;
let baseImage: string;
let dir: string;
let pool: SharedPatchPool;
/** Every failed FUMO job: shown when an assertion fails. */
const failures: string[] = [];

beforeAll(async () => {
  dir = tempDirFor('campaign-e2e', afterAll);
  pool = new SharedPatchPool(await SharedImages.open(join(dir, 'images')), { concurrency: 2 });
  server = await startTestServer();
  const v1 = pseudoRandom(64 * 1024, 'e2e-campaign-v1');
  baseImage = join(dir, 'v1.bin');
  await writeFile(baseImage, v1);
  for (const [version, image] of [['1.0', v1], ['2.0', nextBuild(v1)]] as const) {
    const build = await server.upload(MODEL, version, image);
    expect(build.status).toBe('ready');
    targetBuild = build.id;
  }
  trust = parseTrust(await (await server.api('/api/v1/manufacturers/acme/keys', { token: server.tokens.operator })).text(), 'served keys');
}, 120_000);

const post = async <T>(path: string, body: unknown): Promise<T> => {
  const res = await server.api(path, { method: 'POST', token: server.tokens.operator, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
};
/** The campaign once the engine has looked at what the agents and operators did (it runs outside their requests). */
async function view(id: string): Promise<CampaignView> {
  await server.campaigns.idle();
  return (await (await server.api(`/api/v1/campaigns/${id}`, { token: server.tokens.operator })).json()) as CampaignView;
}

async function register(tag: string): Promise<string[]> {
  const ids = Array.from({ length: FLEET }, (_, i) => `${tag}-${String(i).padStart(3, '0')}`);
  for (const id of ids) await post('/api/v1/devices', { id, model: MODEL, firmwareVersion: '1.0', tags: [tag], credentials: { username: id, password: 'e2e-device-password' } });
  return ids;
}

function agent(id: string, installFailure?: number): Promise<DeviceAgent> {
  return DeviceAgent.open({
    serverUrl: server.url,
    devId: id,
    model: MODEL,
    username: id,
    password: 'e2e-device-password',
    dataDir: join(dir, id),
    image: baseImage,
    version: '1.0',
    trust,
    pool,
    ...(installFailure ? { failures: { install: installFailure } } : {}),
  });
}

/** Every agent polls once, 16 at a time (each poll runs any job it is given and reports). */
async function pollAll(agents: DeviceAgent[]): Promise<void> {
  const queue = [...agents];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let a = queue.shift(); a; a = queue.shift()) {
        const report = await a.runOnce();
        for (const job of report.jobs) if (job.resultCode >= 300) failures.push(`${a.options.devId}: ${job.resultCode} ${job.reason}`);
      }
    }),
  );
}

async function stagesOf(campaignId: string): Promise<Map<string, number>> {
  const rows = await selectRows<{ id: string; stage: number }>(server.ctx.db, 'SELECT device_id AS id, stage FROM deployments WHERE campaign_id = ?', campaignId);
  return new Map(rows.map((r) => [r.id, r.stage]));
}

describe('campaigns with 100 reference agents', () => {
  it('rolls out 10% (approval) -> 50% -> 100% until every device runs the target', async () => {
    const ids = await register('fleet-ok');
    const agents = await Promise.all(ids.map((id) => agent(id)));
    const { id } = await post<{ id: string }>('/api/v1/campaigns', {
      name: 'spring update',
      buildId: targetBuild,
      cohort: { tags: ['fleet-ok'] },
      stages: [{ percent: 10, requiresApproval: true }, { percent: 50 }, { percent: 100 }],
      successThreshold: 1,
      failureThreshold: 0.1,
      minSample: 5,
    });
    let v = await post<CampaignView>(`/api/v1/campaigns/${id}/start`, {});
    expect(v.stages.map((s) => [s.size, s.state])).toEqual([
      [10, 'awaitingApproval'],
      [40, 'pending'],
      [50, 'pending'],
    ]);
    await pollAll(agents);
    expect(agents.every((a) => a.firmwareVersion === '1.0')).toBe(true);

    v = await post<CampaignView>(`/api/v1/campaigns/${id}/approve`, {});
    expect(v.stages[0]?.state).toBe('running');
    const seen: string[] = [];
    for (let round = 0; round < 10 && v.state !== 'completed'; round++) {
      await pollAll(agents);
      v = await view(id);
      seen.push(v.stages.map((s) => s.state).join('/'));
    }
    expect(v.state, `${failures.join('\n')} ${v.pausedReason} ${JSON.stringify(v.stages.map((s) => [s.state, s.counts, s.failures]))}`).toBe('completed');
    expect(v.totals).toMatchObject({ succeeded: FLEET, failed: 0, pending: 0 });
    expect(agents.every((a) => a.firmwareVersion === '2.0')).toBe(true);
    // The stages ran one after another: never a later stage before an earlier one was done.
    for (const states of seen) expect(states).toMatch(/^(done\/)*(running|done)(\/pending)*$/);
    expect(v.bytesServed).toBeGreaterThan(0);
  }, 240_000);

  it('pauses itself in the first stage when 30% of devices fail to install, and resumes on the operator', async () => {
    const ids = await register('fleet-bad');
    const { id } = await post<{ id: string }>('/api/v1/campaigns', {
      name: 'bad boards',
      buildId: targetBuild,
      cohort: { tags: ['fleet-bad'] },
      stages: [{ percent: 10 }, { percent: 50 }, { percent: 100 }],
      successThreshold: 0.7,
      failureThreshold: 0.2,
      minSample: 5,
    });
    await post(`/api/v1/campaigns/${id}/start`, {});
    // 30% of the devices fail: 3 of each stage's 10, the same share in every stage.
    const stage = await stagesOf(id);
    const failing = new Set<string>();
    for (const s of [0, 1, 2]) {
      const members = ids.filter((d) => stage.get(d) === s);
      for (const d of members.slice(0, Math.round(members.length * 0.3))) failing.add(d);
    }
    expect(failing.size).toBe(30);
    const agents = new Map(await Promise.all(ids.map(async (d) => [d, await agent(d, failing.has(d) ? 410 : undefined)] as const)));
    const first = ids.filter((d) => stage.get(d) === 0);
    // The failing devices of the first stage report first, then the others one by one.
    const ordered = [...first.filter((d) => failing.has(d)), ...first.filter((d) => !failing.has(d))];
    let v = await view(id);
    for (const d of ordered) {
      await agents.get(d)?.runOnce();
      v = await view(id);
      if (v.state === 'paused') break;
    }
    expect(v.state).toBe('paused');
    expect(v.pauseKind).toBe('failures');
    expect(v.pausedReason).toBe('stage 1: 3 of 5 results failed (60%), above the failure threshold 20%; most common result: 410 (3)');
    expect(v.stages[0]?.failures).toEqual({ '410': 3 });
    expect(v.stages.slice(1).map((s) => [s.state, s.counts.pending])).toEqual([
      ['pending', 40],
      ['pending', 50],
    ]);
    // While paused, nobody else is commanded: a whole round changes nothing.
    const before = v.totals;
    await pollAll([...agents.values()]);
    v = await view(id);
    expect(v.totals).toEqual(before);
    expect([...agents.values()].filter((a) => a.firmwareVersion === '2.0')).toHaveLength(2);

    v = await post<CampaignView>(`/api/v1/campaigns/${id}/resume`, { reason: 'known bad boards; replacing them' });
    expect(v.state).toBe('running');
    await pollAll(first.map((d) => agents.get(d)).filter((a): a is DeviceAgent => a !== undefined));
    v = await view(id);
    // 7 of 10 succeeded (>= 70%): stage 2 has started.
    expect(v.stages[0]).toMatchObject({ state: 'done', counts: { succeeded: 7, failed: 3 } });
    expect(v.stages[1]?.state).toBe('running');
    // Stage 2 fails the same way, so the campaign stops itself again there.
    for (let round = 0; round < 5 && v.state === 'running'; round++) {
      await pollAll([...agents.values()]);
      v = await view(id);
    }
    expect(v.state).toBe('paused');
    expect(v.pausedReason).toMatch(/^stage 2: \d+ of \d+ results failed/);
    expect(v.stages[2]).toMatchObject({ state: 'pending', counts: { pending: 50 } });
  }, 240_000);
});

// Whatever the test did to the campaigns' deployments, their kept counts still match the rows.
afterEach(() => expectKeptCountsMatchRows(server.ctx.db));
