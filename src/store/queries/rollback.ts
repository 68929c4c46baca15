// What a rollback campaign reads: the build a model had before a given one, and the
// devices a campaign updated.
import { and, countDistinct, desc, eq, lt, ne } from 'drizzle-orm';
import type { builds } from '../schema/index.ts';
import type { Tx } from '../store.ts';

type BuildRow = typeof builds.$inferSelect;

/** The newest ready build of the same model uploaded before `build` (another version). */
export async function previousBuildOf(tx: Tx, build: { id: string; modelId: string; createdAt: number; version: string }): Promise<BuildRow | undefined> {
  const { builds } = tx.t;
  const [row] = await tx.q
    .select()
    .from(builds)
    .where(and(eq(builds.modelId, build.modelId), eq(builds.status, 'ready'), lt(builds.createdAt, build.createdAt), ne(builds.version, build.version)))
    .orderBy(desc(builds.createdAt))
    .limit(1);
  return row;
}

/** How many devices the campaign updated: those whose deployment in it succeeded. */
export async function countUpdatedDevices(tx: Tx, campaignId: string): Promise<number> {
  const { deployments } = tx.t;
  const [row] = await tx.q
    .select({ n: countDistinct(deployments.deviceId) })
    .from(deployments)
    .where(and(eq(deployments.campaignId, campaignId), eq(deployments.state, 'succeeded')));
  return row?.n ?? 0;
}
