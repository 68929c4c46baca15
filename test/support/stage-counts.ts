// The counts a campaign's deployments are kept under (campaign_stage_counts, summed over
// shards; src/store/queries/stage-counts.ts) against a COUNT(*) of the rows themselves,
// for every campaign in the store. Any writer that moved a deployment without its count
// shows here as a difference naming campaign, stage and state. One statement: it sees one
// snapshot, so it holds while a server goes on writing (a DM session, the engine).
import { expect } from 'vitest';
import type { Tx } from '../../src/store/store.ts';
import { selectRows } from './sql.ts';

type Row = { campaign: string; stage: number | string; state: string; diff: number | string };

/** Every campaign's kept counts equal its deployments counted by stage and state. */
export async function expectKeptCountsMatchRows(db: Tx): Promise<void> {
  const differences = await selectRows<Row>(
    db,
    `SELECT campaign, stage, state, sum(n) AS diff FROM (
       SELECT campaign_id AS campaign, COALESCE(stage, 0) AS stage, state, count(*) AS n FROM deployments WHERE campaign_id IS NOT NULL GROUP BY campaign_id, COALESCE(stage, 0), state
       UNION ALL
       SELECT campaign_id AS campaign, stage, state, -sum(n) AS n FROM campaign_stage_counts GROUP BY campaign_id, stage, state
     ) d GROUP BY campaign, stage, state HAVING sum(n) <> 0`,
  );
  const described = differences.map((r) => `${r.campaign} stage ${Number(r.stage)} ${r.state}: ${Number(r.diff)} more rows than kept`).sort();
  expect(described, 'kept counts (campaign_stage_counts) against COUNT(*) of deployments').toEqual([]);
}
