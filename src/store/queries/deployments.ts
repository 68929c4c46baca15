// Deployment rows: one device updated to one build, with its state history; and what
// downloads write to them (bytes served, the move to 'downloading' when a device's first
// bytes go out).
import { and, desc, eq, inArray, type SQL, sql } from 'drizzle-orm';
import type { deployments } from '../schema/index.ts';
import { forUpdate } from '../dialect.ts';
import type { Tables, Tx } from '../store.ts';
import { recordAudit } from './audit.ts';
import { preparedPer } from './prepared.ts';
import { addToStageCounts, moveInStageCounts, shardOf } from './stage-counts.ts';
import { countWrite } from './write-counts.ts';

/** States a deployment leaves for 'downloading' once the device starts fetching. */
const BEFORE_DOWNLOAD = ['scheduled', 'commanded'];

/** Whether bytes served would move a deployment in this state to 'downloading' (addBytesServed). */
export function isBeforeDownload(state: string): boolean {
  return BEFORE_DOWNLOAD.includes(state);
}

/** Counted for reads kept across a transaction (write-counts.ts). */
const counted = (tx: Tx) => countWrite(tx, 'deployments');

// Prepared once: every download response ends with these (bench:download).
const bytesServedUpdate = preparedPer(({ q, t: { deployments } }) =>
  q
    .update(deployments)
    // Incremented in SQL, not read-modify-write: two downloads of one deployment (a
    // device resuming on a second connection, or two server processes) both count.
    .set({ bytesServed: sql`${deployments.bytesServed} + ${sql.placeholder('bytes')}`, updatedAt: sql`${sql.placeholder('now')}` })
    .where(eq(deployments.id, sql.placeholder('id')))
    // The state as well: a deployment already past 'commanded' (most downloads after the
    // first) needs no read of its history.
    .returning({ id: deployments.id, state: deployments.state })
    .prepare(),
);
const beforeDownloadOf = preparedPer(({ q, t: { deployments } }) =>
  q
    .select({ state: deployments.state, history: deployments.history })
    .from(deployments)
    .where(and(eq(deployments.id, sql.placeholder('id')), inArray(deployments.state, BEFORE_DOWNLOAD)))
    .prepare(),
);
// Prepared too: every deployment's first download makes this move, and building the
// statement in drizzle and compiling it in SQLite cost more than running it (bench:download,
// first trial).
const moveToDownloading = preparedPer(({ q, t: { deployments } }) =>
  q
    .update(deployments)
    .set({ state: 'downloading', history: sql`${sql.placeholder('history')}`, updatedAt: sql`${sql.placeholder('now')}` })
    .where(and(eq(deployments.id, sql.placeholder('id')), eq(deployments.state, sql.placeholder('from'))))
    .returning({ id: deployments.id, campaignId: deployments.campaignId, stage: deployments.stage })
    .prepare(),
);

/**
 * Adds `bytes` to the deployment's bytes served. With `moveToDownloading`, a deployment
 * still 'scheduled' or 'commanded' becomes 'downloading', with its history entry and audit
 * event in the same transaction. Returns false when there is no such deployment (it may
 * have been deleted while the download ran).
 */
export async function addBytesServed(tx: Tx, deploymentId: string, bytes: number, now: number, options: { moveToDownloading: boolean }): Promise<boolean> {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`bytes served must be a whole number >= 0, got ${bytes}`);
  counted(tx);
  const served = await bytesServedUpdate(tx).execute({ id: deploymentId, bytes, now });
  const [updated] = served;
  if (!updated) return false;
  if (!options.moveToDownloading || !isBeforeDownload(updated.state)) return true;
  const [row] = await beforeDownloadOf(tx).execute({ id: deploymentId });
  if (!row) return true;
  const history: unknown = JSON.parse(row.history);
  const entries = Array.isArray(history) ? history : [];
  const cause = 'first bytes served';
  entries.push({ at: new Date(now).toISOString(), state: 'downloading', cause });
  // Guarded by the state we read: if another writer moved the deployment meanwhile, its
  // change stands and no second history entry is written.
  const [moved] = await moveToDownloading(tx).execute({ id: deploymentId, from: row.state, history: JSON.stringify(entries), now });
  if (moved) {
    await moveInStageCounts(tx, moved, row.state, 'downloading');
    await recordAudit(tx, { actor: 'download', action: 'deployment.state', subject: deploymentId, details: { from: row.state, to: 'downloading', cause } }, now);
  }
  return true;
}

export type DeploymentRow = typeof deployments.$inferSelect;

/** States a deployment never leaves. */
export const FINAL_STATES = ['succeeded', 'failed', 'canceled'] as const;

/**
 * A deployment still under way, its final states written out as literals: the predicate of
 * deployments_one_active_per_device, which lets either database read that partial index (one
 * entry at most per device). With the states bound as parameters neither can prove the
 * index holds the rows asked for, and SQLite read every deployment the device ever had
 * (deployments_device, then each row for its state).
 */
export function underWay(deployments: Tables['deployments']): SQL {
  return sql`${deployments.state} not in (${sql.raw(FINAL_STATES.map((state) => `'${state}'`).join(', '))})`;
}

/**
 * With `forUpdate`, for a transaction that moves the deployment on what it read (its state
 * and history): on PostgreSQL the row stays locked until commit (dialect.ts).
 */
export async function findDeployment(tx: Tx, id: string, options: { forUpdate?: boolean } = {}): Promise<DeploymentRow | undefined> {
  const { deployments } = tx.t;
  const query = tx.q.select().from(deployments).where(eq(deployments.id, id));
  const [row] = await (options.forUpdate ? forUpdate(tx, query) : query);
  return row;
}

export async function insertDeployment(tx: Tx, row: typeof deployments.$inferInsert): Promise<void> {
  counted(tx);
  await tx.q.insert(tx.t.deployments).values(row);
  await countInserted(tx, row);
}

/** A campaign deployment inserted on its own (a late joiner) counts in its stage and state. */
async function countInserted(tx: Tx, row: typeof deployments.$inferInsert): Promise<void> {
  if (row.campaignId) await addToStageCounts(tx, row.campaignId, [{ stage: row.stage ?? 0, state: row.state, n: 1 }], shardOf(row.id));
}

/**
 * The conflict target of the unique index that gives a device one deployment under way at
 * a time (deployments_one_active_per_device): its column and its predicate word for word,
 * so ON CONFLICT names that index on both dialects.
 */
export const ONE_ACTIVE_PER_DEVICE = sql.raw(`(device_id) WHERE state NOT IN ('succeeded', 'failed', 'canceled')`);

/**
 * Inserts the deployment unless the device already has one under way; returns whether it
 * did. The database decides, not an earlier read: two requests (or two server processes)
 * that both found the device free race here, and on PostgreSQL the second waits for the
 * first to commit and then inserts nothing, instead of failing its transaction.
 */
export async function insertDeploymentIfFree(tx: Tx, row: typeof deployments.$inferInsert): Promise<boolean> {
  const { deployments } = tx.t;
  counted(tx);
  // No conflict target: drizzle's SQLite builder puts a target's WHERE after DO NOTHING,
  // where SQLite refuses it. The only other key is the new row's random id.
  const inserted = await tx.q.insert(deployments).values(row).onConflictDoNothing().returning({ id: deployments.id });
  if (inserted.length === 1) await countInserted(tx, row);
  return inserted.length === 1;
}

const activeQuery = ({ q, t }: Tx) =>
  q
    .select()
    .from(t.deployments)
    .where(and(eq(t.deployments.deviceId, sql.placeholder('deviceId')), underWay(t.deployments)))
    .orderBy(desc(t.deployments.createdAt));
// No LIMIT: a device has at most one active deployment, and SQLite runs this statement
// four times slower with `LIMIT ?` (drizzle binds the 1) than without (bench/dm.ts).
const activeOf = preparedPer((tx) => activeQuery(tx).prepare());
const activeOfForUpdate = preparedPer((tx) => forUpdate(tx, activeQuery(tx)).prepare());

/**
 * The device's deployment that is still under way, if any (at most one at a time). With
 * `forUpdate`, locked for a transaction that moves it on what it read.
 */
export async function activeDeploymentOf(tx: Tx, deviceId: string, options: { forUpdate?: boolean } = {}): Promise<DeploymentRow | undefined> {
  return (await (options.forUpdate ? activeOfForUpdate : activeOf)(tx).execute({ deviceId }))[0];
}

/**
 * Writes the changes to the deployment `row` names. A change of state moves it in its
 * campaign's counts (stage-counts.ts) from the state it has in the database: the update
 * is guarded by the state the caller read, and should another writer have moved it since
 * (PostgreSQL), the row is read again, locked, and updated from what it is.
 */
export async function updateDeployment(tx: Tx, row: Pick<DeploymentRow, 'id' | 'state'>, changes: Partial<typeof deployments.$inferInsert>): Promise<void> {
  const { deployments } = tx.t;
  counted(tx);
  // A deployment's campaign and stage are its count's key: set once, at insert.
  if (changes.campaignId !== undefined || changes.stage !== undefined) throw new Error(`deployment ${row.id}: its campaign and stage are never changed`);
  const to = changes.state;
  if (to === undefined) {
    await tx.q.update(deployments).set(changes).where(eq(deployments.id, row.id));
    return;
  }
  const placed = { id: deployments.id, campaignId: deployments.campaignId, stage: deployments.stage };
  const [moved] = await tx.q
    .update(deployments)
    .set(changes)
    .where(and(eq(deployments.id, row.id), eq(deployments.state, row.state)))
    .returning(placed);
  if (moved) return moveInStageCounts(tx, moved, row.state, to);
  const current = await findDeployment(tx, row.id, { forUpdate: true });
  if (!current) return;
  await tx.q.update(deployments).set(changes).where(eq(deployments.id, row.id));
  await moveInStageCounts(tx, current, current.state, to);
}
