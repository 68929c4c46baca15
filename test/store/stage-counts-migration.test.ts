// The migration that brings kept campaign counts (campaign_stage_counts) to a database
// whose campaigns already have deployments: migrated up to just before it with the
// committed migrations, given two campaigns' deployments in several stages and states (and
// a one-device deployment, which belongs to no campaign), then opened as a server opens it.
// Each campaign's counts are then its rows counted, and the console's reading says so.
import { describe, expect, it } from 'vitest';
import { countsByStage } from '../../src/store/queries/campaigns.ts';
import { openMigratedFromBefore } from '../support/migrate-before.ts';
import { expectKeptCountsMatchRows } from '../support/stage-counts.ts';

/** [id, device, campaign, stage, state] */
const ROWS: Array<[string, string, string | null, number | null, string]> = [
  ['dep_a1', 'dev-1', 'cmp_a', 0, 'succeeded'],
  ['dep_a2', 'dev-2', 'cmp_a', 0, 'failed'],
  ['dep_a3', 'dev-3', 'cmp_a', 0, 'downloading'],
  ['dep_a4', 'dev-4', 'cmp_a', 1, 'pending'],
  ['dep_a5', 'dev-5', 'cmp_a', 1, 'pending'],
  ['dep_a6', 'dev-6', 'cmp_a', 1, 'scheduled'],
  ['dep_b1', 'dev-1', 'cmp_b', 0, 'canceled'],
  ['dep_b2', 'dev-7', 'cmp_b', 0, 'canceled'],
  ['dep_single', 'dev-8', null, null, 'commanded'],
];
const INSERTS = [
  `INSERT INTO devices (id, model, tags, created_at) VALUES ${Array.from({ length: 8 }, (_, i) => `('dev-${i + 1}', 'm', '[]', 1)`).join(', ')}`,
  `INSERT INTO deployments (id, device_id, campaign_id, stage, state, created_at, updated_at) VALUES ${ROWS.map(([id, device, campaign, stage, state]) => `('${id}', '${device}', ${campaign ? `'${campaign}'` : 'NULL'}, ${stage ?? 'NULL'}, '${state}', 1, 1)`).join(', ')}`,
];

describe('the migration to kept campaign counts', () => {
  it("counts every existing campaign's deployments by stage and state", async () => {
    const store = await openMigratedFromBefore('campaign_stage_counts', INSERTS);
    await expectKeptCountsMatchRows(store);
    const byKey = (rows: Array<{ stage: number; state: string; n: number }>) => rows.map((r) => `${r.stage} ${r.state} ${r.n}`).sort();
    expect(byKey(await countsByStage(store, 'cmp_a'))).toEqual(['0 downloading 1', '0 failed 1', '0 succeeded 1', '1 pending 2', '1 scheduled 1']);
    expect(byKey(await countsByStage(store, 'cmp_b'))).toEqual(['0 canceled 2']);
  });
});
