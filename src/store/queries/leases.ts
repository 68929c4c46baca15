// Claiming and giving back the lease on a unit of periodic work (schema/leases.ts). One
// statement each, atomic on both databases: an insert that, on conflict, takes the row
// over only when it is ours already or has expired.
import { and, eq, lt, or, sql } from 'drizzle-orm';
import type { Tx } from '../store.ts';

/**
 * Takes or renews the lease `name` for `holder` until `now + ttlMs`; true when `holder`
 * holds it afterwards. A live lease of another holder is left alone.
 */
export async function claimLease(tx: Tx, name: string, holder: string, now: number, ttlMs: number): Promise<boolean> {
  const { leases } = tx.t;
  const taken = await tx.q
    .insert(leases)
    .values({ name, holder, until: now + ttlMs })
    .onConflictDoUpdate({
      target: leases.name,
      set: { holder: sql`excluded.holder`, until: sql`excluded.until` },
      setWhere: or(eq(leases.holder, holder), lt(leases.until, now)),
    })
    .returning({ holder: leases.holder });
  return taken.length === 1;
}

/** Gives the lease back early (a clean stop), so another process need not wait for it to expire. */
export async function releaseLease(tx: Tx, name: string, holder: string): Promise<void> {
  const { leases } = tx.t;
  await tx.q.delete(leases).where(and(eq(leases.name, name), eq(leases.holder, holder)));
}

/** Who holds what, and until when (tests; an operator's query reads the same). */
export async function leasesHeld(tx: Tx, now: number): Promise<Array<{ name: string; holder: string; until: number }>> {
  const { leases } = tx.t;
  return tx.q.select().from(leases).where(sql`${leases.until} >= ${now}`);
}
