// Deployment rows: one device updated to one build, with its state history; and what
// downloads write to them (bytes served, the move to 'downloading' when a device's first
// bytes go out). Synchronous, for short transactions.
import { and, desc, eq, inArray, notInArray, sql } from 'drizzle-orm';
import { deployments } from '../schema/index.ts';
import { recordAudit, type Tx } from './audit.ts';
import { preparedPer } from './prepared.ts';

/** States a deployment leaves for 'downloading' once the device starts fetching. */
const BEFORE_DOWNLOAD = ['scheduled', 'commanded'];

/**
 * Adds `bytes` to the deployment's bytes served. With `moveToDownloading`, a deployment
 * still 'scheduled' or 'commanded' becomes 'downloading', with its history entry and audit
 * event in the same transaction. Returns false when there is no such deployment (it may
 * have been deleted while the download ran).
 */
export function addBytesServed(tx: Tx, deploymentId: string, bytes: number, now: number, options: { moveToDownloading: boolean }): boolean {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`bytes served must be a whole number >= 0, got ${bytes}`);
  const counted = tx
    .update(deployments)
    // Incremented in SQL, not read-modify-write: two downloads of one deployment (a
    // device resuming on a second connection, or two server processes) both count.
    .set({ bytesServed: sql`${deployments.bytesServed} + ${bytes}`, updatedAt: now })
    .where(eq(deployments.id, deploymentId))
    .run();
  if (counted.changes === 0) return false;
  if (!options.moveToDownloading) return true;
  const row = tx
    .select({ state: deployments.state, history: deployments.history })
    .from(deployments)
    .where(and(eq(deployments.id, deploymentId), inArray(deployments.state, BEFORE_DOWNLOAD)))
    .get();
  if (!row) return true;
  const history: unknown = JSON.parse(row.history);
  const entries = Array.isArray(history) ? history : [];
  const cause = 'first bytes served';
  entries.push({ at: new Date(now).toISOString(), state: 'downloading', cause });
  // Guarded by the state we read: if another writer moved the deployment meanwhile, its
  // change stands and no second history entry is written.
  const moved = tx
    .update(deployments)
    .set({ state: 'downloading', history: JSON.stringify(entries), updatedAt: now })
    .where(and(eq(deployments.id, deploymentId), eq(deployments.state, row.state)))
    .run();
  if (moved.changes === 1) recordAudit(tx, { actor: 'download', action: 'deployment.state', subject: deploymentId, details: { from: row.state, to: 'downloading', cause } }, now);
  return true;
}

export type DeploymentRow = typeof deployments.$inferSelect;

/** States a deployment never leaves. */
export const FINAL_STATES = ['succeeded', 'failed', 'canceled'] as const;

export function findDeployment(tx: Tx, id: string): DeploymentRow | undefined {
  return tx.select().from(deployments).where(eq(deployments.id, id)).get();
}

export function insertDeployment(tx: Tx, row: typeof deployments.$inferInsert): void {
  tx.insert(deployments).values(row).run();
}

const activeOf = preparedPer((tx) =>
  tx
    .select()
    .from(deployments)
    .where(and(eq(deployments.deviceId, sql.placeholder('deviceId')), notInArray(deployments.state, [...FINAL_STATES])))
    .orderBy(desc(deployments.createdAt))
    .limit(1)
    .prepare(),
);

/** The device's deployment that is still under way, if any (at most one at a time). */
export function activeDeploymentOf(tx: Tx, deviceId: string): DeploymentRow | undefined {
  return activeOf(tx).get({ deviceId });
}

export function updateDeployment(tx: Tx, id: string, changes: Partial<typeof deployments.$inferInsert>): void {
  tx.update(deployments).set(changes).where(eq(deployments.id, id)).run();
}
