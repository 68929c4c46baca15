// What a download request reads of its deployment: its state (whether its bytes may move it
// to 'downloading', served-ledger.ts) and the download budget of its campaign, if any
// (download/budget.ts). One read per download request.
import { eq, sql } from 'drizzle-orm';
import type { Tx } from '../store.ts';
import { preparedRead } from './prepared.ts';

export interface DownloadDeployment {
  state: string;
  budget?: { campaignId: string; bytesPerSecond: number };
}

// Prepared once: every download request reads it.
const deploymentOf = preparedRead(({ q, t: { deployments, campaigns } }) =>
  q
    .select({ state: deployments.state, campaignId: campaigns.id, bytesPerSecond: campaigns.bandwidthBytesPerSecond })
    .from(deployments)
    .leftJoin(campaigns, eq(campaigns.id, deployments.campaignId))
    .where(eq(deployments.id, sql.placeholder('id')))
    .prepare(),
);

/** The deployment's state and its campaign's budget; undefined when there is no such deployment. */
export async function downloadDeploymentOf(tx: Tx, deploymentId: string): Promise<DownloadDeployment | undefined> {
  const [row] = await deploymentOf(tx).execute({ id: deploymentId });
  if (!row) return undefined;
  return row.campaignId !== null && row.bytesPerSecond !== null ? { state: row.state, budget: { campaignId: row.campaignId, bytesPerSecond: row.bytesPerSecond } } : { state: row.state };
}
