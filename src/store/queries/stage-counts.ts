// A campaign's deployments per stage and state, kept (campaign_stage_counts) rather than
// counted: the console refreshes a campaign every few seconds and the engine reads the
// running stage's counts after every deployment result, and counting a stage of half a
// million rows held SQLite, and so the server's event loop, for 0.2 s (bench:campaign).
// Every write that inserts a campaign deployment or changes a campaign deployment's state
// adds to the counts in its own transaction, with the state the row had in the database
// (not what a caller read earlier): the statements that move rows say which rows they
// moved from which state (a WHERE on the state, RETURNING the stage), so the counts are
// exact on both dialects whatever ran in between. The writers are deployments.ts and
// campaigns.ts; test/campaigns/stage-counts.test.ts drives a campaign through every state
// change and compares the counts with COUNT(*).
import { and, eq, sql } from 'drizzle-orm';
import type { Tx } from '../store.ts';

/** Bulk work (a chunk of a start or of a stage's scheduling, an abort) adds here. */
export const BULK_SHARD = 0;
/** Shards of single deployments' changes: 1 .. SHARDS - 1. */
const SHARDS = 16;

/**
 * The shard a single deployment's changes add to, from its id: on PostgreSQL, the DM
 * sessions of one stage then lock one of 15 count rows each until they commit, not all the
 * same one. SQLite, one writer at a time, gains nothing and loses little (a sum over more rows).
 */
export function shardOf(deploymentId: string): number {
  let h = 0;
  for (let i = 0; i < deploymentId.length; i++) h = (h * 31 + deploymentId.charCodeAt(i)) | 0;
  return 1 + ((h >>> 0) % (SHARDS - 1));
}

export interface CountChange {
  stage: number;
  state: string;
  /** Negative for deployments that left the state. */
  n: number;
}

/**
 * Adds the changes to the campaign's counts in `shard`. One statement, its rows in
 * (stage, state) order: two PostgreSQL transactions lock the rows they share in the same
 * order.
 */
export async function addToStageCounts(tx: Tx, campaignId: string, changes: readonly CountChange[], shard: number): Promise<void> {
  const merged = new Map<string, CountChange>();
  for (const c of changes) {
    const key = `${c.stage}\u0000${c.state}`;
    const seen = merged.get(key);
    if (seen) seen.n += c.n;
    else merged.set(key, { ...c });
  }
  const rows = [...merged.values()]
    .filter((c) => c.n !== 0)
    .sort((a, b) => a.stage - b.stage || (a.state < b.state ? -1 : a.state > b.state ? 1 : 0))
    .map((c) => ({ campaignId, stage: c.stage, state: c.state, shard, n: c.n }));
  if (rows.length === 0) return;
  const { campaignStageCounts } = tx.t;
  await tx.q
    .insert(campaignStageCounts)
    .values(rows)
    .onConflictDoUpdate({
      target: [campaignStageCounts.campaignId, campaignStageCounts.stage, campaignStageCounts.state, campaignStageCounts.shard],
      set: { n: sql`${campaignStageCounts.n} + excluded.n` },
    });
}

/** One campaign deployment moved from one state to another. */
export async function moveInStageCounts(tx: Tx, deployment: { id: string; campaignId: string | null; stage: number | null }, from: string, to: string): Promise<void> {
  if (deployment.campaignId === null || from === to) return;
  const stage = deployment.stage ?? 0;
  await addToStageCounts(
    tx,
    deployment.campaignId,
    [
      { stage, state: from, n: -1 },
      { stage, state: to, n: 1 },
    ],
    shardOf(deployment.id),
  );
}

/** Deployments of each stage (or of one) by state, as kept: states with none are left out. */
export async function keptCountsByStage(tx: Tx, campaignId: string, stage?: number): Promise<Array<{ stage: number; state: string; n: number }>> {
  const { campaignStageCounts: c } = tx.t;
  const n = sql<number>`sum(${c.n})`.mapWith(Number);
  const found = await tx.q
    .select({ stage: c.stage, state: c.state, n })
    .from(c)
    .where(and(eq(c.campaignId, campaignId), stage === undefined ? undefined : eq(c.stage, stage)))
    .groupBy(c.stage, c.state)
    .having(sql`sum(${c.n}) <> 0`);
  return found.map((r) => ({ stage: Number(r.stage), state: r.state, n: r.n }));
}
