// Device, DM session and device-operation rows. Synchronous, for short transactions.
// The reads and writes every DM message makes are prepared once per database connection:
// building the SQL in drizzle and compiling it in SQLite on each call cost more than
// running it (bench/dm.ts).
import { and, asc, count, eq, gt, gte, lt, type Placeholder, type SQL, sql } from 'drizzle-orm';
import type { SQLiteInsertValue, SQLiteUpdateSetSource } from 'drizzle-orm/sqlite-core';
import { deployments, devices, dmOperations, dmSessions } from '../schema/index.ts';
import type { Tx } from './audit.ts';
import { preparedPer } from './prepared.ts';

export type DeviceRow = typeof devices.$inferSelect;
export type DmSessionRow = typeof dmSessions.$inferSelect;
export type DmOperationRow = typeof dmOperations.$inferSelect;

/**
 * Row values as a statement shape: a placeholder for each value given, a literal NULL for
 * each null (as drizzle binds it), nothing for undefined (drizzle leaves those out too).
 * The key names the shape, so each call site's set of columns is prepared once.
 */
function shapeOf(values: Record<string, unknown>): { key: string; columns: Record<string, Placeholder | null>; params: Record<string, unknown> } {
  const columns: Record<string, Placeholder | null> = {};
  const params: Record<string, unknown> = {};
  let key = '';
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    if (value === null) {
      columns[name] = null;
      key += `${name}=null,`;
    } else {
      columns[name] = sql.placeholder(`v_${name}`);
      params[`v_${name}`] = value;
      key += `${name},`;
    }
  }
  return { key, columns, params };
}

/** Statements prepared per connection and per shape of the values they write. */
function preparedWrites<T>(build: (tx: Tx, columns: Record<string, Placeholder | null>) => T): (tx: Tx, values: Record<string, unknown>) => { statement: T; params: Record<string, unknown> } {
  const byShape = preparedPer(() => new Map<string, T>());
  return (tx, values) => {
    const shape = shapeOf(values);
    const statements = byShape(tx);
    let statement = statements.get(shape.key);
    if (statement === undefined) {
      statement = build(tx, shape.columns);
      statements.set(shape.key, statement);
    }
    return { statement, params: shape.params };
  };
}

// Drizzle's types leave placeholders out of update sets, but it binds them there as in
// inserts and wheres (each through its column's encoder).
const asSet = <T>(columns: Record<string, Placeholder | null>) => columns as unknown as T;

const deviceById = preparedPer((tx) => tx.select().from(devices).where(eq(devices.id, sql.placeholder('id'))).prepare());
const sessionById = preparedPer((tx) => tx.select().from(dmSessions).where(eq(dmSessions.id, sql.placeholder('id'))).prepare());
const openSessionOf = preparedPer((tx) =>
  tx
    .select()
    .from(dmSessions)
    .where(and(eq(dmSessions.deviceId, sql.placeholder('deviceId')), eq(dmSessions.sessionId, sql.placeholder('sessionId')), eq(dmSessions.state, 'open')))
    .prepare(),
);
const queuedOf = preparedPer((tx) =>
  tx.select().from(dmOperations).where(and(eq(dmOperations.deviceId, sql.placeholder('deviceId')), eq(dmOperations.state, 'queued'))).orderBy(asc(dmOperations.createdAt)).prepare(),
);
const deviceUpdate = preparedWrites((tx, columns) =>
  tx.update(devices).set(asSet<SQLiteUpdateSetSource<typeof devices>>(columns)).where(eq(devices.id, sql.placeholder('where_id'))).prepare(),
);
const sessionInsert = preparedWrites((tx, columns) => tx.insert(dmSessions).values(asSet<SQLiteInsertValue<typeof dmSessions>>(columns)).prepare());
const sessionUpdate = preparedWrites((tx, columns) =>
  tx.update(dmSessions).set(asSet<SQLiteUpdateSetSource<typeof dmSessions>>(columns)).where(eq(dmSessions.id, sql.placeholder('where_id'))).prepare(),
);
const operationUpdate = preparedWrites((tx, columns) =>
  tx.update(dmOperations).set(asSet<SQLiteUpdateSetSource<typeof dmOperations>>(columns)).where(eq(dmOperations.id, sql.placeholder('where_id'))).prepare(),
);

export function findDevice(tx: Tx, id: string): DeviceRow | undefined {
  return deviceById(tx).get({ id });
}

export function insertDevice(tx: Tx, row: typeof devices.$inferInsert): void {
  tx.insert(devices).values(row).run();
}

export function updateDevice(tx: Tx, id: string, changes: Partial<typeof devices.$inferInsert>): void {
  const { statement, params } = deviceUpdate(tx, changes);
  statement.run({ ...params, where_id: id });
}

/** Counts one more failed authentication for a device; returns how many there are since its last success. */
export function addAuthFailure(tx: Tx, id: string): number {
  return tx.update(devices).set({ authFailures: sql`${devices.authFailures} + 1` }).where(eq(devices.id, id)).returning({ failures: devices.authFailures }).get()?.failures ?? 0;
}

/**
 * Ids from `prefix` up to (not including) the prefix with its last character moved one
 * up: a range on the primary key, so a prefix search reads the index instead of scanning
 * the fleet (LIKE would also treat "_" in ids as a wildcard). Case-sensitive, like ids.
 */
function prefixRange(prefix: string | undefined): SQL | undefined {
  if (!prefix) return undefined;
  const upper = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
  return and(gte(devices.id, prefix), lt(devices.id, upper));
}

/** A page of devices in id order: those whose id starts with `prefix`, after the id `after` (keyset paging). */
export function listDevices(tx: Tx, options: { prefix?: string; after?: string; limit: number }): DeviceRow[] {
  return tx
    .select()
    .from(devices)
    .where(and(prefixRange(options.prefix), options.after ? gt(devices.id, options.after) : undefined))
    .orderBy(asc(devices.id))
    .limit(options.limit)
    .all();
}

export function countDevices(tx: Tx, prefix?: string): number {
  return tx.select({ n: count() }).from(devices).where(prefixRange(prefix)).get()?.n ?? 0;
}

export function deploymentsOf(tx: Tx, deviceId: string) {
  return tx.select().from(deployments).where(eq(deployments.deviceId, deviceId)).orderBy(asc(deployments.createdAt)).all();
}

export function findSession(tx: Tx, id: string): DmSessionRow | undefined {
  return sessionById(tx).get({ id });
}

/**
 * The open session a device runs under this SessionID (for clients that ignore RespURI).
 * Only a candidate: the message must still prove with credentials that it is the device's.
 */
export function findOpenSession(tx: Tx, deviceId: string, sessionId: string): DmSessionRow | undefined {
  return openSessionOf(tx).get({ deviceId, sessionId });
}

export function insertSession(tx: Tx, row: typeof dmSessions.$inferInsert): void {
  const { statement, params } = sessionInsert(tx, row);
  statement.run(params);
}

export function updateSession(tx: Tx, id: string, changes: Partial<typeof dmSessions.$inferInsert>): void {
  const { statement, params } = sessionUpdate(tx, changes);
  statement.run({ ...params, where_id: id });
}

/** Open sessions whose idle timeout has passed. */
export function openSessionsIdleSince(tx: Tx, now: number): DmSessionRow[] {
  return tx.select().from(dmSessions).where(and(eq(dmSessions.state, 'open'), lt(dmSessions.expiresAt, now))).all();
}

/** Removes sessions that expired before `before`: their lost-reply window is long over. */
export function deleteSessionsExpiredBefore(tx: Tx, before: number): number {
  return tx.delete(dmSessions).where(lt(dmSessions.expiresAt, before)).run().changes;
}

export function insertOperation(tx: Tx, row: typeof dmOperations.$inferInsert): void {
  tx.insert(dmOperations).values(row).run();
}

export function findOperation(tx: Tx, deviceId: string, id: string): DmOperationRow | undefined {
  return tx.select().from(dmOperations).where(and(eq(dmOperations.id, id), eq(dmOperations.deviceId, deviceId))).get();
}

export function queuedOperations(tx: Tx, deviceId: string): DmOperationRow[] {
  return queuedOf(tx).all({ deviceId });
}

export function updateOperation(tx: Tx, id: string, changes: Partial<typeof dmOperations.$inferInsert>): void {
  const { statement, params } = operationUpdate(tx, changes);
  statement.run({ ...params, where_id: id });
}
