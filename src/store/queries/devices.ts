// Device, DM session and device-operation rows. Synchronous, for short transactions.
import { and, asc, eq, lt } from 'drizzle-orm';
import { deployments, devices, dmOperations, dmSessions } from '../schema/index.ts';
import type { Tx } from './audit.ts';

export type DeviceRow = typeof devices.$inferSelect;
export type DmSessionRow = typeof dmSessions.$inferSelect;
export type DmOperationRow = typeof dmOperations.$inferSelect;

export function findDevice(tx: Tx, id: string): DeviceRow | undefined {
  return tx.select().from(devices).where(eq(devices.id, id)).get();
}

export function insertDevice(tx: Tx, row: typeof devices.$inferInsert): void {
  tx.insert(devices).values(row).run();
}

export function updateDevice(tx: Tx, id: string, changes: Partial<typeof devices.$inferInsert>): void {
  tx.update(devices).set(changes).where(eq(devices.id, id)).run();
}

export function deploymentsOf(tx: Tx, deviceId: string) {
  return tx.select().from(deployments).where(eq(deployments.deviceId, deviceId)).orderBy(asc(deployments.createdAt)).all();
}

export function findSession(tx: Tx, id: string): DmSessionRow | undefined {
  return tx.select().from(dmSessions).where(eq(dmSessions.id, id)).get();
}

/** The open session a device runs under its SessionID (for clients that ignore RespURI). */
export function findOpenSession(tx: Tx, deviceId: string, sessionId: string): DmSessionRow | undefined {
  return tx
    .select()
    .from(dmSessions)
    .where(and(eq(dmSessions.deviceId, deviceId), eq(dmSessions.sessionId, sessionId), eq(dmSessions.state, 'open')))
    .get();
}

export function insertSession(tx: Tx, row: typeof dmSessions.$inferInsert): void {
  tx.insert(dmSessions).values(row).run();
}

export function updateSession(tx: Tx, id: string, changes: Partial<typeof dmSessions.$inferInsert>): void {
  tx.update(dmSessions).set(changes).where(eq(dmSessions.id, id)).run();
}

/** Open sessions whose idle timeout has passed. */
export function openSessionsIdleSince(tx: Tx, now: number): DmSessionRow[] {
  return tx.select().from(dmSessions).where(and(eq(dmSessions.state, 'open'), lt(dmSessions.expiresAt, now))).all();
}

export function insertOperation(tx: Tx, row: typeof dmOperations.$inferInsert): void {
  tx.insert(dmOperations).values(row).run();
}

export function findOperation(tx: Tx, deviceId: string, id: string): DmOperationRow | undefined {
  return tx.select().from(dmOperations).where(and(eq(dmOperations.id, id), eq(dmOperations.deviceId, deviceId))).get();
}

export function queuedOperations(tx: Tx, deviceId: string): DmOperationRow[] {
  return tx.select().from(dmOperations).where(and(eq(dmOperations.deviceId, deviceId), eq(dmOperations.state, 'queued'))).orderBy(asc(dmOperations.createdAt)).all();
}

export function updateOperation(tx: Tx, id: string, changes: Partial<typeof dmOperations.$inferInsert>): void {
  tx.update(dmOperations).set(changes).where(eq(dmOperations.id, id)).run();
}
