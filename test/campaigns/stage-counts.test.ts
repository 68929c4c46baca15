// A campaign's counts by stage and state are kept by the writes that move its deployments
// (src/store/queries/stage-counts.ts), so the console and the engine read them without
// counting a million rows. Here one campaign goes through every kind of write a deployment
// sees: the start's bulk insert (a device found busy left out), a stage scheduled in
// chunks, commanded, the first bytes served (downloading), installing, succeeded, failed,
// a transient failure back to scheduled, a move made on a stale read of the row, a late
// joiner, and an abort canceling in chunks. After each, the kept counts equal a COUNT(*) of
// the rows, and the engine's and the console's readings say the same. On SQLite and (in
// the postgres project) PostgreSQL.
import { describe, expect, it } from 'vitest';
import { stageCounts } from '../../src/campaigns/engine.ts';
import { transition } from '../../src/deployments/deployments.ts';
import { insertBuild, insertPackage } from '../../src/store/queries/builds.ts';
import { cancelUnstarted, countsByStage, insertCampaign, insertCampaignDeployments, scheduleStage } from '../../src/store/queries/campaigns.ts';
import { addBytesServed, type DeploymentRow, findDeployment, insertDeployment, insertDeploymentIfFree } from '../../src/store/queries/deployments.ts';
import { insertDevice } from '../../src/store/queries/devices.ts';
import { findOrInsertManufacturer, findOrInsertModel } from '../../src/store/queries/manufacturers.ts';
import type { Store } from '../../src/store/store.ts';
import { expectKeptCountsMatchRows } from '../support/stage-counts.ts';
import { selectRows } from '../support/sql.ts';
import { openTestStore } from '../support/store.ts';

const CAMPAIGN = 'cmp_counts';
const DEVICES = 24;
const deviceId = (i: number) => `dev-${String(i).padStart(3, '0')}`;

async function campaignOver(store: Store): Promise<void> {
  await store.transaction(async (tx) => {
    const maker = await findOrInsertManufacturer(tx, 'maker', 0);
    const model = await findOrInsertModel(tx, maker.id, 'm', 0);
    await insertBuild(tx, { id: 'bld_2', modelId: model.id, version: '2.0', sha256: '0'.repeat(64), size: 1, status: 'ready', createdAt: 0 });
    await insertPackage(tx, { id: 'pkg_2', buildId: 'bld_2', kind: 'full', toVersion: '2.0', fileSha256: '0'.repeat(64), fileSize: 1, payloadSha256: '0'.repeat(64), payloadSize: 1, payloadOffset: 0, envelope: '{}', keyid: 'k', createdAt: 0 });
    for (let i = 0; i <= DEVICES; i++) await insertDevice(tx, { id: deviceId(i), model: 'm', firmwareVersion: '1.0', tags: '[]', createdAt: 0 });
    await insertCampaign(
      tx,
      { id: CAMPAIGN, name: 'counts', buildId: 'bld_2', model: 'm', cohort: '{"model":"m"}', state: 'running', successThreshold: 1, failureThreshold: 1, minSample: 1, timeoutMs: 60_000, createdBy: 'psn_t', createdByName: 't', createdAt: 0, updatedAt: 0 },
      [0, 1, 2].map((index) => ({ campaignId: CAMPAIGN, index, percent: [10, 50, 100][index] ?? 100 })),
    );
    // Device 0 is busy with a one-device deployment: the start leaves it out.
    await insertDeployment(tx, { id: 'dep_single', deviceId: deviceId(0), buildId: 'bld_2', state: 'commanded', createdAt: 0, updatedAt: 0 });
  });
}

const deploymentOf = async (store: Store, device: number): Promise<DeploymentRow> => {
  const [row] = await selectRows<{ id: string }>(store, 'SELECT id FROM deployments WHERE device_id = ? AND campaign_id = ?', deviceId(device), CAMPAIGN);
  const found = row && (await findDeployment(store, row.id));
  if (!found) throw new Error(`no deployment of ${deviceId(device)}`);
  return found;
};

/** Moves the device's deployment in a transaction of its own, as a DM session would. */
const move = (store: Store, device: number, state: Parameters<typeof transition>[2], changes: Partial<DeploymentRow> = {}) =>
  store.transaction(async (tx) => {
    const row = await deploymentOf(store, device);
    await transition(tx, row, state, `test: ${state}`, 1, changes);
  });

/** The kept counts match the rows; the engine's stage reading and the console's all-stage one agree with them. */
async function check(store: Store): Promise<void> {
  await expectKeptCountsMatchRows(store);
  const all = await countsByStage(store, CAMPAIGN);
  for (const stage of [0, 1, 2]) {
    const counts = await stageCounts(store, CAMPAIGN, stage);
    for (const [state, n] of Object.entries(counts)) expect(n, `stage ${stage} ${state}`).toBe(all.find((r) => r.stage === stage && r.state === state)?.n ?? 0);
  }
}

describe('kept campaign counts', () => {
  it('equal a COUNT(*) of the deployments after every kind of write a campaign deployment sees', async () => {
    const store = await openTestStore();
    await campaignOver(store);
    // The start: devices 0..23, a third per stage, inserted stage by stage (device 0 busy: left out).
    const devices = Array.from({ length: DEVICES }, (_, i) => ({ id: deviceId(i), stage: i % 3 })).sort((a, b) => a.stage - b.stage);
    const inserted = await store.transaction((tx) => insertCampaignDeployments(tx, { campaignId: CAMPAIGN, buildId: 'bld_2', devices, idPrefix: 'counts', firstSeq: 0, createdBy: 'psn_t', now: 1 }));
    expect(inserted).toBe(DEVICES - 1);
    await check(store);
    expect(await stageCounts(store, CAMPAIGN, 0)).toMatchObject({ pending: 7, scheduled: 0 });

    // Stage 1 (index 0) scheduled three at a time.
    while ((await store.transaction((tx) => scheduleStage(tx, CAMPAIGN, 0, 2, false, 3))) > 0) await check(store);
    expect(await stageCounts(store, CAMPAIGN, 0)).toMatchObject({ pending: 0, scheduled: 7 });

    // Through FUMO: commanded, downloading (first bytes), installing, succeeded; a failure; a transient one back to scheduled.
    await move(store, 3, 'commanded');
    await move(store, 6, 'commanded');
    await move(store, 9, 'commanded');
    await move(store, 12, 'commanded');
    await check(store);
    const downloading = await deploymentOf(store, 3);
    await store.transaction((tx) => addBytesServed(tx, downloading.id, 1000, 3, { moveToDownloading: true }));
    await store.transaction((tx) => addBytesServed(tx, downloading.id, 1000, 3, { moveToDownloading: true }));
    expect((await deploymentOf(store, 3)).state).toBe('downloading');
    await check(store);
    await move(store, 3, 'installing', { resultCode: 200 });
    await move(store, 3, 'succeeded');
    await move(store, 6, 'failed', { resultCode: 410 });
    await move(store, 9, 'scheduled', { resultCode: 503, notBefore: 100 });
    await check(store);
    // A state written again (FUMO commands sent) changes no count.
    await move(store, 12, 'commanded', { attempts: 1 });
    await check(store);
    expect(await stageCounts(store, CAMPAIGN, 0)).toMatchObject({ scheduled: 4, commanded: 1, succeeded: 1, failed: 1 });

    // A move made on a stale read: the row moved on since (commanded -> installing), the caller still holds 'commanded'.
    const stale = await deploymentOf(store, 12);
    await move(store, 12, 'installing');
    await store.transaction((tx) => transition(tx, stale, 'failed', 'test: stale', 4, { resultCode: 402 }));
    expect((await deploymentOf(store, 12)).state).toBe('failed');
    await check(store);

    // A late joiner of stage 2 (not started: pending), and one refused because the device is busy.
    expect(await store.transaction((tx) => insertDeploymentIfFree(tx, { id: 'dep_joiner', deviceId: deviceId(DEVICES), buildId: 'bld_2', state: 'pending', campaignId: CAMPAIGN, stage: 1, createdAt: 5, updatedAt: 5 }))).toBe(true);
    expect(await store.transaction((tx) => insertDeploymentIfFree(tx, { id: 'dep_refused', deviceId: deviceId(0), buildId: 'bld_2', state: 'pending', campaignId: CAMPAIGN, stage: 1, createdAt: 5, updatedAt: 5 }))).toBe(false);
    await check(store);
    expect(await stageCounts(store, CAMPAIGN, 1)).toMatchObject({ pending: 9 });

    // The abort: pending and scheduled canceled four at a time; what a device is working on stays.
    let canceled = 0;
    for (let n = -1; n !== 0; canceled += n) {
      n = await store.transaction((tx) => cancelUnstarted(tx, CAMPAIGN, 6, 'test abort', 4));
      await check(store);
    }
    expect(canceled).toBe(4 + 9 + 8);
    expect(await countsByStage(store, CAMPAIGN)).toEqual(
      expect.arrayContaining([
        { stage: 0, state: 'canceled', n: 4 },
        { stage: 0, state: 'succeeded', n: 1 },
        { stage: 0, state: 'failed', n: 2 },
        { stage: 1, state: 'canceled', n: 9 },
        { stage: 2, state: 'canceled', n: 8 },
      ]),
    );
    expect(await countsByStage(store, CAMPAIGN)).toHaveLength(5);
  });
});
