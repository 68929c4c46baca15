// The few counts /metrics reads from the database at a scrape (cached by the caller):
// deployments of the campaigns worth watching, and the Package 0 queue.
import { and, count, desc, gte, inArray, isNotNull, isNull, or } from 'drizzle-orm';
import type { Tx } from '../store.ts';

/**
 * Deployments by state of the campaigns started and not finished, or finished since
 * `since`: at most `limit` campaigns (the latest started), so a long history of campaigns
 * does not become a long list of series.
 */
export async function deploymentsOfRecentCampaigns(tx: Tx, since: number, limit: number): Promise<Array<{ campaign: string; state: string; n: number }>> {
  const { campaigns, deployments } = tx.t;
  const recent = await tx.q
    .select({ id: campaigns.id })
    .from(campaigns)
    .where(and(isNotNull(campaigns.startedAt), or(isNull(campaigns.finishedAt), gte(campaigns.finishedAt, since))))
    .orderBy(desc(campaigns.startedAt))
    .limit(limit);
  if (recent.length === 0) return [];
  const rows = await tx.q
    .select({ campaign: deployments.campaignId, state: deployments.state, n: count() })
    .from(deployments)
    .where(inArray(deployments.campaignId, recent.map((c) => c.id)))
    .groupBy(deployments.campaignId, deployments.state);
  return rows.map((r) => ({ campaign: r.campaign ?? '', state: r.state, n: r.n }));
}

export async function notificationQueueDepth(tx: Tx): Promise<number> {
  const { notificationQueue } = tx.t;
  const [row] = await tx.q.select({ n: count() }).from(notificationQueue);
  return row?.n ?? 0;
}
