// Console sessions ended by sign-out (see revokedConsoleSessions): one indexed lookup per
// console request, one insert per sign-out, which also prunes the rows that expired.
import { eq, lte } from 'drizzle-orm';
import type { Tx } from '../store.ts';

/** Records a session as ended, idempotently, and drops the rows whose sessions have expired by `now`. */
export async function revokeConsoleSession(tx: Tx, id: string, expiresAt: number, now: number): Promise<void> {
  const { revokedConsoleSessions } = tx.t;
  await tx.q.delete(revokedConsoleSessions).where(lte(revokedConsoleSessions.expiresAt, now));
  await tx.q.insert(revokedConsoleSessions).values({ id, expiresAt }).onConflictDoNothing();
}

export async function isConsoleSessionRevoked(tx: Tx, id: string): Promise<boolean> {
  const { revokedConsoleSessions } = tx.t;
  const found = await tx.q.select({ id: revokedConsoleSessions.id }).from(revokedConsoleSessions).where(eq(revokedConsoleSessions.id, id));
  return found.length > 0;
}
