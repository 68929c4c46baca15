// The few counts /metrics reads from the database at a scrape (cached by the caller):
// deployments of the campaigns worth watching, and the Package 0 queue.
import { and, count, desc, gte, inArray, isNotNull, isNull, or, sql } from 'drizzle-orm';
import type { Tx } from '../store.ts';

/**
 * Deployments by state of the campaigns started and not finished, or finished since
 * `since`: at most `limit` campaigns (the latest started), so a long history of campaigns
 * does not become a long list of series.
 */
export async function deploymentsOfRecentCampaigns(tx: Tx, since: number, limit: number): Promise<Array<{ campaign: string; state: string; n: number }>> {
  const { campaigns, campaignStageCounts } = tx.t;
  const recent = await tx.q
    .select({ id: campaigns.id })
    .from(campaigns)
    .where(and(isNotNull(campaigns.startedAt), or(isNull(campaigns.finishedAt), gte(campaigns.finishedAt, since))))
    .orderBy(desc(campaigns.startedAt))
    .limit(limit);
  if (recent.length === 0) return [];
  // From the counts the campaigns' writers keep (stage-counts.ts): counting the rows held
  // SQLite, and the event loop, for a fraction of a second per million at every scrape.
  const kept = campaignStageCounts;
  const rows = await tx.q
    .select({ campaign: kept.campaignId, state: kept.state, n: sql<number>`sum(${kept.n})`.mapWith(Number) })
    .from(kept)
    .where(inArray(kept.campaignId, recent.map((c) => c.id)))
    .groupBy(kept.campaignId, kept.state)
    .having(sql`sum(${kept.n}) <> 0`);
  return rows.map((r) => ({ campaign: r.campaign, state: r.state, n: r.n }));
}

export async function notificationQueueDepth(tx: Tx): Promise<number> {
  const { notificationQueue } = tx.t;
  const [row] = await tx.q.select({ n: count() }).from(notificationQueue);
  return row?.n ?? 0;
}
