// Device filters saved per console user.
import { and, asc, count, eq } from 'drizzle-orm';
import type { savedFilters } from '../schema/index.ts';
import type { Tx } from '../store.ts';

export type SavedFilterRow = typeof savedFilters.$inferSelect;

export async function savedFiltersOf(tx: Tx, owner: string): Promise<SavedFilterRow[]> {
  const { savedFilters } = tx.t;
  return tx.q.select().from(savedFilters).where(eq(savedFilters.owner, owner)).orderBy(asc(savedFilters.name), asc(savedFilters.id));
}

export async function countSavedFilters(tx: Tx, owner: string): Promise<number> {
  const { savedFilters } = tx.t;
  const [row] = await tx.q.select({ n: count() }).from(savedFilters).where(eq(savedFilters.owner, owner));
  return Number(row?.n ?? 0);
}

export async function insertSavedFilter(tx: Tx, row: typeof savedFilters.$inferInsert): Promise<void> {
  await tx.q.insert(tx.t.savedFilters).values(row);
}

/** Only the owner's own: another user's filter id deletes nothing. */
export async function deleteSavedFilter(tx: Tx, owner: string, id: string): Promise<boolean> {
  const { savedFilters } = tx.t;
  const gone = await tx.q.delete(savedFilters).where(and(eq(savedFilters.id, id), eq(savedFilters.owner, owner))).returning({ id: savedFilters.id });
  return gone.length === 1;
}
