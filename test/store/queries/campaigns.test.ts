// The campaign queries written as raw SQL for both dialects: the cohort filter matches a
// tag exactly (no json_* functions, and neither case, quotes, commas nor LIKE wildcards
// blur it), a device that never reported a version is not on the target, the bulk insert
// gives each device its stage, package and history, and the history appended in SQL stays
// a JSON array.
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { insertBuild, insertPackage } from '../../../src/store/queries/builds.ts';
import { cancelUnstarted, cohortByVersion, type CohortFilter, cohortHasDevices, cohortPage, insertCampaignDeployments, lateJoiners, placedStagesOf, scheduleStage } from '../../../src/store/queries/campaigns.ts';
import { insertDevice } from '../../../src/store/queries/devices.ts';
import { findOrInsertManufacturer, findOrInsertModel } from '../../../src/store/queries/manufacturers.ts';
import { openSqliteStore } from '../../../src/store/sqlite.ts';
import type { Store } from '../../../src/store/store.ts';
import { tempDir } from '../../support/harness.ts';
import { selectRows } from '../../support/sql.ts';

const MODEL = 'router';
const TAGS: Record<string, string[]> = {
  'dev-eu': ['eu', 'beta'],
  'dev-EU': ['EU'],
  'dev-eu-west': ['eu-west'],
  'dev-quote': ['a"b', 'x,"eu"'],
  'dev-wild': ['e_', '%'],
  'dev-none': [],
};

async function fleet(): Promise<{ store: Store; buildId: string; packageId: string }> {
  const store = openSqliteStore(join(tempDir(), 'data'));
  onTestFinished(() => store.close());
  const buildId = 'bld_target';
  const packageId = 'pkg_full';
  await store.transaction(async (tx) => {
    const maker = await findOrInsertManufacturer(tx, 'maker', 0);
    const model = await findOrInsertModel(tx, maker.id, MODEL, 0);
    await insertBuild(tx, { id: buildId, modelId: model.id, version: '2.0', sha256: '0'.repeat(64), size: 1, status: 'ready', createdAt: 0 });
    await insertPackage(tx, { id: packageId, buildId, kind: 'full', toVersion: '2.0', fileSha256: '0'.repeat(64), fileSize: 1, payloadSha256: '0'.repeat(64), payloadSize: 1, payloadOffset: 0, envelope: '{}', keyid: 'k', createdAt: 0 });
    for (const [id, tags] of Object.entries(TAGS)) await insertDevice(tx, { id, model: MODEL, firmwareVersion: id === 'dev-none' ? null : '1.0', tags: JSON.stringify(tags), createdAt: 0 });
    await insertDevice(tx, { id: 'dev-current', model: MODEL, firmwareVersion: '2.0', tags: '["eu"]', createdAt: 0 });
  });
  return { store, buildId, packageId };
}

const matching = async (store: Store, filter: Omit<CohortFilter, 'model'>) => (await cohortPage(store, { model: MODEL, ...filter }, '', 1000)).filter((d) => d.firmwareVersion !== '2.0').map((d) => d.id);

describe('campaign queries', () => {
  it.each([
    [['eu'], ['dev-eu']],
    [['EU'], ['dev-EU']],
    [['eu', 'beta'], ['dev-eu']],
    [['a"b'], ['dev-quote']],
    [['x,"eu"'], ['dev-quote']],
    [['e_'], ['dev-wild']],
    [['%'], ['dev-wild']],
    [['e'], []],
    [['eu-'], []],
  ])('matches devices tagged %j exactly', async (tags, expected) => {
    const { store } = await fleet();
    expect(await matching(store, { tags })).toEqual(expected);
  });

  it('pages through the cohort in id order, with each device\'s version and whether a deployment is under way on it', async () => {
    const { store, buildId } = await fleet();
    await store.transaction((tx) => insertCampaignDeployments(tx, { campaignId: 'cmp_other', buildId, devices: [{ id: 'dev-eu', stage: 0 }], idPrefix: 'o', firstSeq: 0, createdBy: 'tok', now: 1 }));
    const all = await cohortPage(store, { model: MODEL }, '', 1000);
    expect(all.map((d) => d.id)).toEqual([...all.map((d) => d.id)].sort());
    expect(all.find((d) => d.id === 'dev-none')).toEqual({ id: 'dev-none', firmwareVersion: null, busy: false });
    expect(all.find((d) => d.id === 'dev-current')?.firmwareVersion).toBe('2.0');
    expect(all.find((d) => d.id === 'dev-eu')?.busy).toBe(true);
    const first = await cohortPage(store, { model: MODEL }, '', 2);
    const rest = await cohortPage(store, { model: MODEL }, first.at(-1)?.id ?? '', 1000);
    expect([...first, ...rest]).toEqual(all);
    expect(await cohortHasDevices(store, { model: MODEL, tags: ['nobody'] })).toBe(false);
    expect(await cohortHasDevices(store, { model: MODEL })).toBe(true);
    expect(Object.fromEntries(await cohortByVersion(store, { model: MODEL, versions: ['1.0', '2.0'] }))).toEqual({ '1.0': 5, '2.0': 1 });
    expect(await cohortByVersion(store, { model: MODEL, versions: [] })).toEqual(new Map());
    expect((await lateJoiners(store, 'cmp_x', { model: MODEL, tags: ['eu'] }, '2.0', 10)).map((d) => d.id)).toEqual([]);
    expect((await lateJoiners(store, 'cmp_x', { model: MODEL, tags: ['EU'] }, '2.0', 10)).map((d) => d.id)).toEqual(['dev-EU']);
  });

  it('leaves out a device that got a deployment under way since the cohort was read, and counts only the rows inserted', async () => {
    const { store, buildId } = await fleet();
    await store.transaction((tx) => insertCampaignDeployments(tx, { campaignId: 'cmp_other', buildId, devices: [{ id: 'dev-eu', stage: 0 }], idPrefix: 'o', firstSeq: 0, createdBy: 'tok', now: 1 }));
    const devices = [{ id: 'dev-eu', stage: 0 }, { id: 'dev-none', stage: 1 }];
    expect(await store.transaction((tx) => insertCampaignDeployments(tx, { campaignId: 'cmp_2', buildId, devices, idPrefix: 'q', firstSeq: 0, createdBy: 'tok', now: 1 }))).toBe(1);
    expect(await store.transaction((tx) => placedStagesOf(tx, 'cmp_2', ['dev-eu', 'dev-none']))).toEqual(new Map([['dev-none', 1]]));
    expect(await selectRows(store, "SELECT campaign_id FROM deployments WHERE device_id = 'dev-eu'")).toEqual([{ campaign_id: 'cmp_other' }]);
  });

  it('inserts a deployment per device with its stage and history but no package yet, and appends to the history as a JSON array', async () => {
    const { store, buildId } = await fleet();
    const deviceIds = Object.keys(TAGS).sort();
    const inserted = await store.transaction((tx) =>
      insertCampaignDeployments(tx, { campaignId: 'cmp_1', buildId, devices: deviceIds.map((id, i) => ({ id, stage: i % 2 })), idPrefix: 'p', firstSeq: 0, createdBy: 'tok', now: 1000 }),
    );
    expect(inserted).toBe(deviceIds.length);
    const rows = await selectRows<{ id: string; device_id: string; stage: number; package_id: string | null; state: string; history: string }>(store, 'SELECT id, device_id, stage, package_id, state, history FROM deployments ORDER BY id');
    expect(rows.map((r) => [r.id, r.device_id, r.stage, r.package_id, r.state])).toEqual(deviceIds.map((id, i) => [`dep_p${i.toString(16).padStart(8, '0')}`, id, i % 2, null, 'pending']));
    expect(JSON.parse(rows[1]?.history ?? '')).toEqual([{ at: new Date(1000).toISOString(), state: 'pending', cause: 'campaign cmp_1, stage 2' }]);

    expect(await store.transaction((tx) => scheduleStage(tx, 'cmp_1', 0, 2000, true, 100))).toBe(3);
    // A chunk at a time: the first cancels `limit`, the next the rest.
    expect(await store.transaction((tx) => cancelUnstarted(tx, 'cmp_1', 3000, 'test', deviceIds.length - 2))).toBe(deviceIds.length - 2);
    expect(await store.transaction((tx) => cancelUnstarted(tx, 'cmp_1', 3000, 'test', deviceIds.length))).toBe(2);
    const histories = await selectRows<{ stage: number; history: string }>(store, 'SELECT stage, history FROM deployments');
    for (const { stage, history } of histories) {
      const states = (JSON.parse(history) as Array<{ state: string }>).map((e) => e.state);
      expect(states).toEqual(stage === 0 ? ['pending', 'scheduled', 'canceled'] : ['pending', 'canceled']);
    }
    expect(await selectRows(store, 'SELECT * FROM notification_queue')).toEqual([]);
  });
});
