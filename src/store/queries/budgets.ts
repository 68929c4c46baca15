// The download budget of the campaign a deployment belongs to (download/budget.ts reads
// it once per download request).
import { and, eq, isNotNull } from 'drizzle-orm';
import type { Tx } from '../store.ts';

export async function campaignBudgetOf(tx: Tx, deploymentId: string): Promise<{ campaignId: string; bytesPerSecond: number } | undefined> {
  const { deployments, campaigns } = tx.t;
  const [row] = await tx.q
    .select({ campaignId: campaigns.id, bytesPerSecond: campaigns.bandwidthBytesPerSecond })
    .from(deployments)
    .innerJoin(campaigns, eq(campaigns.id, deployments.campaignId))
    .where(and(eq(deployments.id, deploymentId), isNotNull(campaigns.bandwidthBytesPerSecond)));
  return row && row.bytesPerSecond !== null ? { campaignId: row.campaignId, bytesPerSecond: row.bytesPerSecond } : undefined;
}
