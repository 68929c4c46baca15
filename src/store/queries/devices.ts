// Device, DM session and device-operation rows.
// The reads and writes every DM message makes are prepared once per database connection:
// building the SQL in drizzle and compiling it in SQLite on each call cost more than
// running it (bench/dm.ts).
import { and, asc, count, eq, gt, gte, inArray, isNull, lt, type SQL, sql } from 'drizzle-orm';
import type { SQLiteInsertValue, SQLiteUpdateSetSource } from 'drizzle-orm/sqlite-core';
import type { devices, dmOperations, dmSessions, enrollmentBatches, enrollmentDevices } from '../schema/index.ts';
import type { Tables, Tx } from '../store.ts';
import type { DeploymentRow } from './deployments.ts';
import { type FootingRead, footingFields, footingFrom } from './footing.ts';
import { onDialect, preparedDeviceRead, preparedPer } from './prepared.ts';
import { asSet, preparedWrites } from './prepared-writes.ts';
import { countWrite } from './write-counts.ts';

export type DeviceRow = typeof devices.$inferSelect;
export type DmSessionRow = typeof dmSessions.$inferSelect;
export type DmOperationRow = typeof dmOperations.$inferSelect;

/**
 * An update's values with the row's key (`where_id`). Not `{ ...changes, where_id }`: on
 * Node 20's V8 a literal that spreads an object and then adds a field builds a new hidden
 * class for every object it makes (1.4 µs for a session's dozen columns, five times the
 * copy below, in a micro-benchmark), and every DM message updates two or three rows.
 */
function withKey(changes: object, id: string): Record<string, unknown> {
  const values: Record<string, unknown> = { where_id: id };
  return Object.assign(values, changes);
}


// Reads of one device's own rows (preparedDeviceRead): on SQLite they may run while other
// devices' DM messages wait uncommitted for their COMMIT, and see only what is committed of
// this device. Some reach further, and stay right: the session by RespURI token may be
// another device's, which the caller refuses alike whether or not it is committed (a
// session never changes device); an enrollment's batch, and the model's SCOMO baseline and
// provisioning profile (the footing), are shared, but no DM message writes them (only the
// API, in transactions that commit alone).
const deviceById = preparedDeviceRead(({ q, t }) => q.select().from(t.devices).where(eq(t.devices.id, sql.placeholder('id'))).prepare());
/** What a challenge of a device's DM message takes of it (dm/session/identify.ts). */
export type AuthSubject = Pick<DeviceRow, 'id' | 'authType' | 'authName' | 'clientNonce'>;
const authSubjectById = preparedDeviceRead(({ q, t: { devices } }) =>
  q.select({ id: devices.id, authType: devices.authType, authName: devices.authName, clientNonce: devices.clientNonce }).from(devices).where(eq(devices.id, sql.placeholder('id'))).prepare(),
);
/**
 * The device and the session a DM message names, in one statement: every message reads
 * both, and a statement costs more than the lookup in it (bench/dm.ts). By RespURI token
 * the session is whichever has that id (the caller checks it is the device's); else the
 * device's open session under the SessionID. With them the device's footing (footing.ts),
 * which the message's plan would read in its transaction by one statement more.
 */
const deviceWithSessionByToken = preparedDeviceRead(({ q, t }) =>
  q
    .select({ device: t.devices, session: t.dmSessions, ...footingFields(t) })
    .from(t.devices)
    .leftJoin(t.dmSessions, eq(t.dmSessions.id, sql.placeholder('token')))
    .leftJoin(t.deviceApps, eq(t.deviceApps.deviceId, t.devices.id))
    .where(eq(t.devices.id, sql.placeholder('deviceId')))
    .prepare(),
);
const deviceWithOpenSession = preparedDeviceRead(({ q, t }) =>
  q
    .select({ device: t.devices, session: t.dmSessions, ...footingFields(t) })
    .from(t.devices)
    .leftJoin(t.dmSessions, and(eq(t.dmSessions.deviceId, t.devices.id), eq(t.dmSessions.sessionId, sql.placeholder('sessionId')), eq(t.dmSessions.state, 'open')))
    .leftJoin(t.deviceApps, eq(t.deviceApps.deviceId, t.devices.id))
    .where(eq(t.devices.id, sql.placeholder('deviceId')))
    .prepare(),
);
/**
 * The read by SessionID with the device's enrollment (first contact, src/enroll/
 * first-contact.ts), for a message that may start a session: first contact would read it
 * again by the device's id, on the read-only connection (bench/dm.ts).
 */
const deviceWithOpenSessionAndEnrollment = preparedDeviceRead(({ q, t }) =>
  q
    .select({ device: t.devices, session: t.dmSessions, enrollment: t.enrollmentDevices, batch: t.enrollmentBatches, ...footingFields(t) })
    .from(t.devices)
    .leftJoin(t.dmSessions, and(eq(t.dmSessions.deviceId, t.devices.id), eq(t.dmSessions.sessionId, sql.placeholder('sessionId')), eq(t.dmSessions.state, 'open')))
    .leftJoin(t.enrollmentDevices, eq(t.enrollmentDevices.deviceId, t.devices.id))
    .leftJoin(t.enrollmentBatches, eq(t.enrollmentBatches.id, t.enrollmentDevices.batchId))
    .leftJoin(t.deviceApps, eq(t.deviceApps.deviceId, t.devices.id))
    .where(eq(t.devices.id, sql.placeholder('deviceId')))
    .prepare(),
);
const queuedOf = preparedPer(({ q, t }) =>
  q.select().from(t.dmOperations).where(and(eq(t.dmOperations.deviceId, sql.placeholder('deviceId')), eq(t.dmOperations.state, 'queued'))).orderBy(asc(t.dmOperations.createdAt), asc(t.dmOperations.id)).prepare(),
);
/**
 * The device's queued operations that wait for no user's answer, marked sent in the same
 * statement that reads them (claimQueuedOperations, on PostgreSQL). Bound like any value:
 * drizzle's types leave placeholders out of sets (asSet below).
 */
const claimQueued = preparedPer(({ q, t: { dmOperations } }) =>
  q
    .update(dmOperations)
    .set({ state: 'sent', sentAt: sql.placeholder('sentAt') as unknown as number })
    .where(and(eq(dmOperations.deviceId, sql.placeholder('deviceId')), eq(dmOperations.state, 'queued'), isNull(dmOperations.gateId)))
    .returning()
    .prepare(),
);
const deviceUpdate = preparedWrites(({ q, t }, columns) =>
  q.update(t.devices).set(asSet<SQLiteUpdateSetSource<Tables['devices']>>(columns)).where(eq(t.devices.id, sql.placeholder('where_id'))).prepare(),
);
const sessionInsert = preparedWrites(({ q, t }, columns) => q.insert(t.dmSessions).values(asSet<SQLiteInsertValue<Tables['dmSessions']>>(columns)).prepare());
const sessionUpdate = preparedWrites(({ q, t }, columns) =>
  q.update(t.dmSessions).set(asSet<SQLiteUpdateSetSource<Tables['dmSessions']>>(columns)).where(eq(t.dmSessions.id, sql.placeholder('where_id'))).prepare(),
);
const operationUpdate = preparedWrites(({ q, t }, columns) =>
  q.update(t.dmOperations).set(asSet<SQLiteUpdateSetSource<Tables['dmOperations']>>(columns)).where(eq(t.dmOperations.id, sql.placeholder('where_id'))).prepare(),
);
/** The most operations one statement marks sent; a statement is prepared for each count up to it. */
const SENT_CHUNK = 16;
const operationsSentBy = preparedPer(() => new Map<number, ReturnType<typeof prepareOperationsSent>>());
function prepareOperationsSent({ q, t }: Tx, count: number) {
  const ids = Array.from({ length: count }, (_, i) => sql.placeholder(`id${i}`));
  // Bound like any value (drizzle's types leave placeholders out of sets: asSet above).
  const sentAt = sql.placeholder('sentAt') as unknown as number;
  return q.update(t.dmOperations).set({ state: 'sent', sentAt }).where(inArray(t.dmOperations.id, ids)).prepare();
}

export async function findDevice(tx: Tx, id: string): Promise<DeviceRow | undefined> {
  return (await deviceById(tx, id).execute({ id }))[0];
}

/** What a challenge of the device's DM message takes of it: a narrower read than findDevice. */
export async function findAuthSubject(tx: Tx, id: string): Promise<AuthSubject | undefined> {
  return (await authSubjectById(tx, id).execute({ id }))[0];
}

/** What a DM message reads of the device it names (findDeviceAndSession). */
export interface NamedDevice {
  device: DeviceRow;
  session: DmSessionRow | undefined;
  /** Its enrollment and batch, read with it (`withEnrollment` by SessionID): null when no batch enrolled it; absent when not read. */
  enrollment?: { enrollment: typeof enrollmentDevices.$inferSelect; batch: typeof enrollmentBatches.$inferSelect } | null;
  /** Which of its optional parts exist, read with it (footing.ts); absent when not read. */
  footing?: FootingRead;
}

/**
 * The device, and the session a message names: by its RespURI token (any device's: the
 * caller checks whose it is), else the device's open session under `sessionId` (for clients
 * that ignore RespURI: only a candidate, the message must still prove with credentials that
 * it is the device's). Undefined when there is no such device. `withEnrollment`: by
 * SessionID also the device's enrollment, for a message that will likely authenticate and
 * may start a session (a challenge needs none; a message by token continues one). Always
 * the device's footing, for the message's plan (footingAt binds it to its transaction).
 */
export async function findDeviceAndSession(tx: Tx, deviceId: string, names: { token: string } | { sessionId: string }, options: { withEnrollment?: boolean } = {}): Promise<NamedDevice | undefined> {
  if (options.withEnrollment === true && 'sessionId' in names) {
    const [row] = await deviceWithOpenSessionAndEnrollment(tx, deviceId).execute({ deviceId, sessionId: names.sessionId });
    if (row === undefined) return undefined;
    return { device: row.device, session: row.session ?? undefined, enrollment: row.enrollment && row.batch ? { enrollment: row.enrollment, batch: row.batch } : null, footing: footingFrom(row) };
  }
  const [row] = 'token' in names ? await deviceWithSessionByToken(tx, deviceId).execute({ deviceId, token: names.token }) : await deviceWithOpenSession(tx, deviceId).execute({ deviceId, sessionId: names.sessionId });
  return row === undefined ? undefined : { device: row.device, session: row.session ?? undefined, footing: footingFrom(row) };
}

export async function insertDevice(tx: Tx, row: typeof devices.$inferInsert): Promise<void> {
  await tx.q.insert(tx.t.devices).values(row);
}

export async function updateDevice(tx: Tx, id: string, changes: Partial<typeof devices.$inferInsert>): Promise<void> {
  await deviceUpdate(tx, changes).execute(withKey(changes, id));
}

/**
 * Counts one more failed authentication for a device; returns how many there are since its
 * last success. One UPDATE ... RETURNING: the increment and the count it returns are one
 * step on either dialect (the row stays locked until commit), so concurrent failures each
 * get their own number.
 */
export async function addAuthFailure(tx: Tx, id: string): Promise<number> {
  const { devices } = tx.t;
  const [row] = await tx.q
    .update(devices)
    .set({ authFailures: sql`${devices.authFailures} + 1` })
    .where(eq(devices.id, id))
    .returning({ failures: devices.authFailures });
  return row?.failures ?? 0;
}

/**
 * Ids from `prefix` up to (not including) the prefix with its last character moved one
 * up: a range on the primary key, so a prefix search reads the index instead of scanning
 * the fleet (LIKE would also treat "_" in ids as a wildcard). Case-sensitive, like ids.
 */
export function prefixRange(devices: Tables['devices'], prefix: string | undefined): SQL | undefined {
  if (!prefix) return undefined;
  const upper = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
  return and(gte(devices.id, prefix), lt(devices.id, upper));
}

/** A page of devices in id order: those whose id starts with `prefix`, after the id `after` (keyset paging). */
export async function listDevices(tx: Tx, options: { prefix?: string; after?: string; limit: number }): Promise<DeviceRow[]> {
  const { devices } = tx.t;
  return tx.q
    .select()
    .from(devices)
    .where(and(prefixRange(devices, options.prefix), options.after ? gt(devices.id, options.after) : undefined))
    .orderBy(asc(devices.id))
    .limit(options.limit);
}

export async function countDevices(tx: Tx, prefix?: string): Promise<number> {
  const { devices } = tx.t;
  const [row] = await tx.q.select({ n: count() }).from(devices).where(prefixRange(devices, prefix));
  return row?.n ?? 0;
}

export async function deploymentsOf(tx: Tx, deviceId: string): Promise<DeploymentRow[]> {
  const { deployments } = tx.t;
  return tx.q.select().from(deployments).where(eq(deployments.deviceId, deviceId)).orderBy(asc(deployments.createdAt));
}

export async function insertSession(tx: Tx, row: typeof dmSessions.$inferInsert): Promise<void> {
  await sessionInsert(tx, row).execute(row);
}

export async function updateSession(tx: Tx, id: string, changes: Partial<typeof dmSessions.$inferInsert>): Promise<void> {
  await sessionUpdate(tx, changes).execute(withKey(changes, id));
}

/** Open sessions whose idle timeout has passed. */
export async function openSessionsIdleSince(tx: Tx, now: number): Promise<DmSessionRow[]> {
  const { dmSessions } = tx.t;
  return tx.q.select().from(dmSessions).where(and(eq(dmSessions.state, 'open'), lt(dmSessions.expiresAt, now)));
}

/** Removes sessions that expired before `before`: their lost-reply window is long over. */
export async function deleteSessionsExpiredBefore(tx: Tx, before: number): Promise<number> {
  const { dmSessions } = tx.t;
  const removed = await tx.q.delete(dmSessions).where(lt(dmSessions.expiresAt, before)).returning({ id: dmSessions.id });
  return removed.length;
}

export async function insertOperation(tx: Tx, row: typeof dmOperations.$inferInsert): Promise<void> {
  countWrite(tx, 'operations');
  await tx.q.insert(tx.t.dmOperations).values(row);
}

export async function findOperation(tx: Tx, deviceId: string, id: string): Promise<DmOperationRow | undefined> {
  const { dmOperations } = tx.t;
  const [row] = await tx.q.select().from(dmOperations).where(and(eq(dmOperations.id, id), eq(dmOperations.deviceId, deviceId)));
  return row;
}

export async function queuedOperations(tx: Tx, deviceId: string): Promise<DmOperationRow[]> {
  return queuedOf(tx).execute({ deviceId });
}

/**
 * Takes the device's queued operations that wait for no user's answer (no gate) as sent at
 * `now`, in the order they were queued (as queuedOperations reads them), in the plan: the
 * mark of what the reply carried once waited for the persist. Those the reply does not
 * carry go back to the queue (requeueOperations). On PostgreSQL the rows stay locked until
 * commit, so no other transaction fails or sends one of them meanwhile.
 */
export async function claimQueuedOperations(tx: Tx, deviceId: string, now: number): Promise<DmOperationRow[]> {
  countWrite(tx, 'operations');
  // On SQLite, whose transaction holds the only writer, a read and then the mark of what it
  // read, by id: the UPDATE ... RETURNING builds a temporary table for the rows it returns
  // and another for those it changes (it changes the (device, state) index it searches by):
  // in bench:dm (each statement timed) 2.4 times what the same run's challenge device read
  // took, against 1.9 times for the two statements.
  if (tx.dialect === 'sqlite') {
    const rows = (await queuedOf(tx).execute({ deviceId })).filter((row) => row.gateId === null);
    await markOperationsSent(tx, rows.map((r) => r.id), now);
    for (const row of rows) {
      row.state = 'sent';
      row.sentAt = now;
    }
    return rows;
  }
  const rows = await claimQueued(tx).execute({ deviceId, sentAt: now });
  // RETURNING keeps no order: the queue's (created_at, then id, as SQLite and a C collation compare them).
  return rows.length < 2 ? rows : rows.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Claimed operations the reply did not carry (it was full): queued again, as never sent. */
export async function requeueOperations(tx: Tx, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  countWrite(tx, 'operations');
  const { dmOperations } = tx.t;
  await tx.q.update(dmOperations).set({ state: 'queued', sentAt: null }).where(and(inArray(dmOperations.id, [...ids]), eq(dmOperations.state, 'sent')));
}

/** Marks the operations a reply carried as sent: one statement for all of them (up to SENT_CHUNK at a time). */
export async function markOperationsSent(tx: Tx, ids: readonly string[], now: number): Promise<void> {
  if (ids.length === 0) return;
  countWrite(tx, 'operations');
  const statements = operationsSentBy(tx);
  for (let from = 0; from < ids.length; from += SENT_CHUNK) {
    const chunk = ids.slice(from, from + SENT_CHUNK);
    let statement = statements.get(chunk.length);
    if (statement === undefined) {
      statement = onDialect(tx, prepareOperationsSent(tx, chunk.length));
      statements.set(chunk.length, statement);
    }
    const params: Record<string, unknown> = { sentAt: now };
    chunk.forEach((id, i) => {
      params[`id${i}`] = id;
    });
    await statement.execute(params);
  }
}

export async function updateOperation(tx: Tx, id: string, changes: Partial<typeof dmOperations.$inferInsert>): Promise<void> {
  countWrite(tx, 'operations');
  await operationUpdate(tx, changes).execute(withKey(changes, id));
}
