// Enrollment batch and enrollment rows: creating a batch with its devices, listing and
// exporting batches, and what a device's DM session reads and writes at first contact.
import { and, count, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { devices, enrollmentBatches, enrollmentDevices } from '../schema/index.ts';
import { afterKey } from '../page.ts';
import type { Tx } from '../store.ts';
import { preparedPer } from './prepared.ts';
import type { DeviceRow } from './devices.ts';

export type EnrollmentBatchRow = typeof enrollmentBatches.$inferSelect;
export type EnrollmentRow = typeof enrollmentDevices.$inferSelect;

/** Rows per INSERT: well under SQLite's and PostgreSQL's bound-parameter limits. */
const INSERT_CHUNK = 200;

export async function insertBatch(tx: Tx, row: typeof enrollmentBatches.$inferInsert): Promise<void> {
  await tx.q.insert(tx.t.enrollmentBatches).values(row);
}

export async function insertEnrollments(tx: Tx, rows: Array<typeof enrollmentDevices.$inferInsert>): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) await tx.q.insert(tx.t.enrollmentDevices).values(rows.slice(i, i + INSERT_CHUNK));
}

/** A batch's new devices, a chunk of rows per statement. */
export async function insertDevices(tx: Tx, rows: Array<typeof devices.$inferInsert>): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) await tx.q.insert(tx.t.devices).values(rows.slice(i, i + INSERT_CHUNK));
}

/** Which of these device ids are registered already (a batch may not take them over). */
export async function registeredAmong(tx: Tx, ids: string[]): Promise<string[]> {
  const { devices } = tx.t;
  const found: string[] = [];
  for (let i = 0; i < ids.length; i += INSERT_CHUNK) {
    const rows = await tx.q.select({ id: devices.id }).from(devices).where(inArray(devices.id, ids.slice(i, i + INSERT_CHUNK)));
    found.push(...rows.map((r) => r.id));
  }
  return found;
}

export async function findBatch(tx: Tx, id: string): Promise<EnrollmentBatchRow | undefined> {
  const { enrollmentBatches } = tx.t;
  const [row] = await tx.q.select().from(enrollmentBatches).where(eq(enrollmentBatches.id, id));
  return row;
}

export async function findBatchByClaim(tx: Tx, claimName: string): Promise<EnrollmentBatchRow | undefined> {
  const { enrollmentBatches } = tx.t;
  const [row] = await tx.q.select().from(enrollmentBatches).where(eq(enrollmentBatches.claimName, claimName));
  return row;
}

/** Newest first (ids are time-prefixed), a page after `after`. */
export async function batchesPage(tx: Tx, after: string | undefined, limit: number): Promise<EnrollmentBatchRow[]> {
  const { enrollmentBatches } = tx.t;
  return tx.q.select().from(enrollmentBatches).where(afterKey(enrollmentBatches.id, 'desc', after)).orderBy(desc(enrollmentBatches.id)).limit(limit);
}

/** A batch's devices by enrollment state. */
export async function batchStateCounts(tx: Tx, batchId: string): Promise<Record<string, number>> {
  const { enrollmentDevices } = tx.t;
  const rows = await tx.q.select({ state: enrollmentDevices.state, n: count() }).from(enrollmentDevices).where(eq(enrollmentDevices.batchId, batchId)).groupBy(enrollmentDevices.state);
  return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
}

/** Claims the one export of a batch: true for the caller that set exportedAt, false if another did first. */
export async function markExported(tx: Tx, id: string, by: string, now: number): Promise<boolean> {
  const { enrollmentBatches } = tx.t;
  const changed = await tx.q.update(enrollmentBatches).set({ exportedAt: now, exportedBy: by }).where(and(eq(enrollmentBatches.id, id), isNull(enrollmentBatches.exportedAt))).returning({ id: enrollmentBatches.id });
  return changed.length === 1;
}

/** A batch's devices with their device rows (sealed credentials), in id order. */
export async function batchDevices(tx: Tx, batchId: string): Promise<Array<{ enrollment: EnrollmentRow; device: DeviceRow }>> {
  const { enrollmentDevices, devices } = tx.t;
  return tx.q.select({ enrollment: enrollmentDevices, device: devices }).from(enrollmentDevices).innerJoin(devices, eq(devices.id, enrollmentDevices.deviceId)).where(eq(enrollmentDevices.batchId, batchId)).orderBy(enrollmentDevices.deviceId);
}

/** The device's enrollment and its batch, if it was enrolled through one. */
// Read in every DM session (the first message asks whether the device came by a batch): prepared once.
const enrollmentQuery = preparedPer(({ q, t: { enrollmentDevices, enrollmentBatches } }) =>
  q.select({ enrollment: enrollmentDevices, batch: enrollmentBatches }).from(enrollmentDevices).innerJoin(enrollmentBatches, eq(enrollmentBatches.id, enrollmentDevices.batchId)).where(eq(enrollmentDevices.deviceId, sql.placeholder('deviceId'))).prepare(),
);

export async function enrollmentOf(tx: Tx, deviceId: string): Promise<{ enrollment: EnrollmentRow; batch: EnrollmentBatchRow } | undefined> {
  return (await enrollmentQuery(tx).execute({ deviceId }))[0];
}

export async function updateEnrollment(tx: Tx, deviceId: string, changes: Partial<typeof enrollmentDevices.$inferInsert>): Promise<void> {
  const { enrollmentDevices } = tx.t;
  await tx.q.update(enrollmentDevices).set(changes).where(eq(enrollmentDevices.deviceId, deviceId));
}
