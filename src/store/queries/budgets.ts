// The download budget of the campaign a deployment belongs to (download/budget.ts reads
// it once per download request).
import { and, eq, isNotNull, sql } from 'drizzle-orm';
import type { Tx } from '../store.ts';
import { preparedRead } from './prepared.ts';

// Prepared once: every download request reads it.
const budgetOf = preparedRead(({ q, t: { deployments, campaigns } }) =>
  q
    .select({ campaignId: campaigns.id, bytesPerSecond: campaigns.bandwidthBytesPerSecond })
    .from(deployments)
    .innerJoin(campaigns, eq(campaigns.id, deployments.campaignId))
    .where(and(eq(deployments.id, sql.placeholder('id')), isNotNull(campaigns.bandwidthBytesPerSecond)))
    .prepare(),
);

export async function campaignBudgetOf(tx: Tx, deploymentId: string): Promise<{ campaignId: string; bytesPerSecond: number } | undefined> {
  const [row] = await budgetOf(tx).execute({ id: deploymentId });
  return row && row.bytesPerSecond !== null ? { campaignId: row.campaignId, bytesPerSecond: row.bytesPerSecond } : undefined;
}
