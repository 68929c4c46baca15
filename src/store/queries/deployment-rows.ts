// Deployment rows: one device updated to one build, with its state history.
import { and, desc, eq, notInArray } from 'drizzle-orm';
import { deployments } from '../schema/index.ts';
import type { Tx } from './audit.ts';

export type DeploymentRow = typeof deployments.$inferSelect;

/** States a deployment never leaves. */
export const FINAL_STATES = ['succeeded', 'failed', 'canceled'] as const;

export function findDeployment(tx: Tx, id: string): DeploymentRow | undefined {
  return tx.select().from(deployments).where(eq(deployments.id, id)).get();
}

export function insertDeployment(tx: Tx, row: typeof deployments.$inferInsert): void {
  tx.insert(deployments).values(row).run();
}

/** The device's deployment that is still under way, if any (at most one at a time). */
export function activeDeploymentOf(tx: Tx, deviceId: string): DeploymentRow | undefined {
  return tx
    .select()
    .from(deployments)
    .where(and(eq(deployments.deviceId, deviceId), notInArray(deployments.state, [...FINAL_STATES])))
    .orderBy(desc(deployments.createdAt))
    .get();
}

export function updateDeployment(tx: Tx, id: string, changes: Partial<typeof deployments.$inferInsert>): void {
  tx.update(deployments).set(changes).where(eq(deployments.id, id)).run();
}
