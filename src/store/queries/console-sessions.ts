// Console sessions ended by sign-out (see revokedConsoleSessions): one indexed lookup per
// console request, one insert per sign-out, which also prunes the rows that expired.
import { eq, lte } from 'drizzle-orm';
import { revokedConsoleSessions } from '../schema/index.ts';
import type { Tx } from './audit.ts';

/** Records a session as ended, idempotently, and drops the rows whose sessions have expired by `now`. */
export function revokeConsoleSession(tx: Tx, id: string, expiresAt: number, now: number): void {
  tx.delete(revokedConsoleSessions).where(lte(revokedConsoleSessions.expiresAt, now)).run();
  tx.insert(revokedConsoleSessions).values({ id, expiresAt }).onConflictDoNothing().run();
}

export function isConsoleSessionRevoked(tx: Tx, id: string): boolean {
  return tx.select({ id: revokedConsoleSessions.id }).from(revokedConsoleSessions).where(eq(revokedConsoleSessions.id, id)).get() !== undefined;
}
