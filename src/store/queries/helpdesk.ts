// Helpdesk live queries: the query rows, which device operations make up each, and the
// pruning that keeps a device's queries bounded.
import { and, asc, count, desc, eq, exists, inArray, isNull, lt, or } from 'drizzle-orm';
import type { deviceQueries, deviceQueryNodes } from '../schema/index.ts';
import type { Tx } from '../store.ts';
import type { DmOperationRow } from './devices.ts';
import { countWrite } from './write-counts.ts';

export type DeviceQueryRow = typeof deviceQueries.$inferSelect;
export type DeviceQueryNodeRow = typeof deviceQueryNodes.$inferSelect;

export async function insertQuery(tx: Tx, row: typeof deviceQueries.$inferInsert): Promise<void> {
  await tx.q.insert(tx.t.deviceQueries).values(row);
}

export async function insertQueryNodes(tx: Tx, nodes: Array<typeof deviceQueryNodes.$inferInsert>): Promise<void> {
  if (nodes.length) await tx.q.insert(tx.t.deviceQueryNodes).values(nodes);
}

export async function updateQueryWake(tx: Tx, id: string, wake: string): Promise<void> {
  await tx.q.update(tx.t.deviceQueries).set({ wake }).where(eq(tx.t.deviceQueries.id, id));
}

/** A query of this device: the id alone finds nothing under another device. */
export async function findQuery(tx: Tx, deviceId: string, id: string): Promise<DeviceQueryRow | undefined> {
  const { deviceQueries: q } = tx.t;
  const [row] = await tx.q.select().from(q).where(and(eq(q.id, id), eq(q.deviceId, deviceId)));
  return row;
}

/** A device's queries, newest first. */
export async function queriesOf(tx: Tx, deviceId: string, limit: number): Promise<DeviceQueryRow[]> {
  const { deviceQueries: q } = tx.t;
  return tx.q.select().from(q).where(eq(q.deviceId, deviceId)).orderBy(desc(q.createdAt), desc(q.id)).limit(limit);
}

/** A query's nodes in order, each with its operation. */
export async function queryNodes(tx: Tx, queryId: string): Promise<Array<{ node: DeviceQueryNodeRow; op: DmOperationRow }>> {
  const { deviceQueryNodes: n, dmOperations: o } = tx.t;
  return tx.q.select({ node: n, op: o }).from(n).innerJoin(o, eq(o.id, n.opId)).where(eq(n.queryId, queryId)).orderBy(asc(n.position), asc(n.opId));
}

/** The query nodes behind these operations (a DM message's answered operations). */
export async function nodesForOperations(tx: Tx, opIds: string[]): Promise<Array<DeviceQueryNodeRow & { uri: string }>> {
  if (opIds.length === 0) return [];
  const { deviceQueryNodes: n, dmOperations: o } = tx.t;
  const rows = await tx.q.select({ node: n, uri: o.uri }).from(n).innerJoin(o, eq(o.id, n.opId)).where(inArray(n.opId, opIds));
  return rows.map((r) => ({ ...r.node, uri: r.uri }));
}

/**
 * Drops a device's queries older than its `keep` newest, with their operations. An
 * operation a session still awaits is dropped too: its Status then updates no row.
 */
export async function pruneQueries(tx: Tx, deviceId: string, keep: number): Promise<number> {
  const { deviceQueries: q, deviceQueryNodes: n, dmOperations: o } = tx.t;
  const kept = await tx.q.select({ id: q.id, createdAt: q.createdAt }).from(q).where(eq(q.deviceId, deviceId)).orderBy(desc(q.createdAt), desc(q.id)).limit(keep);
  const oldest = kept[kept.length - 1];
  if (kept.length < keep || !oldest) return 0;
  const doomed = await tx.q
    .select({ id: q.id })
    .from(q)
    .where(and(eq(q.deviceId, deviceId), or(lt(q.createdAt, oldest.createdAt), and(eq(q.createdAt, oldest.createdAt), lt(q.id, oldest.id)))));
  const ids = doomed.map((d) => d.id);
  if (ids.length === 0) return 0;
  const ops = (await tx.q.select({ opId: n.opId }).from(n).where(inArray(n.queryId, ids))).map((r) => r.opId);
  await tx.q.delete(n).where(inArray(n.queryId, ids));
  countWrite(tx, 'operations');
  if (ops.length) await tx.q.delete(o).where(inArray(o.id, ops));
  await tx.q.delete(q).where(inArray(q.id, ids));
  return ids.length;
}

export async function findQueryById(tx: Tx, id: string): Promise<DeviceQueryRow | undefined> {
  const [row] = await tx.q.select().from(tx.t.deviceQueries).where(eq(tx.t.deviceQueries.id, id));
  return row;
}

export async function queryNodeCount(tx: Tx, queryId: string): Promise<number> {
  const [row] = await tx.q.select({ n: count() }).from(tx.t.deviceQueryNodes).where(eq(tx.t.deviceQueryNodes.queryId, queryId));
  return Number(row?.n ?? 0);
}

/**
 * Ends a query: its operations not sent yet (created before `createdBefore`, when given:
 * the expiry spares a fix asked later) fail without a Status, and the query records when
 * and why it stopped. Returns how many operations it ended.
 */
export async function cancelQueryOperations(tx: Tx, queryId: string, now: number, reason: string, createdBefore?: number): Promise<number> {
  countWrite(tx, 'operations');
  const { deviceQueries: q, deviceQueryNodes: n, dmOperations: o } = tx.t;
  const nodes = tx.q.select({ opId: n.opId }).from(n).where(eq(n.queryId, queryId));
  const ended = await tx.q
    .update(o)
    .set({ state: 'failed', doneAt: now })
    .where(and(inArray(o.id, nodes), eq(o.state, 'queued'), ...(createdBefore === undefined ? [] : [lt(o.createdAt, createdBefore)])))
    .returning({ id: o.id });
  await tx.q.update(q).set({ canceledAt: now, canceledReason: reason }).where(eq(q.id, queryId));
  return ended.length;
}

/**
 * Queries not canceled, asked before `before`, with an operation created before then that
 * was never sent (the device never picked it up): the oldest `limit` of them.
 */
export async function unpickedQueries(tx: Tx, before: number, limit: number): Promise<DeviceQueryRow[]> {
  const { deviceQueries: q, deviceQueryNodes: n, dmOperations: o } = tx.t;
  const waiting = tx.q
    .select({ id: n.queryId })
    .from(n)
    .innerJoin(o, eq(o.id, n.opId))
    .where(and(eq(n.queryId, q.id), eq(o.state, 'queued'), lt(o.createdAt, before)));
  return tx.q
    .select()
    .from(q)
    .where(and(isNull(q.canceledAt), lt(q.createdAt, before), exists(waiting)))
    .orderBy(asc(q.createdAt))
    .limit(limit);
}
