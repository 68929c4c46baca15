// People (who hold tokens) and the tokens each holds, for the admin's listing.
import { asc, eq, inArray } from 'drizzle-orm';
import { newId } from '../ids.ts';
import type { people } from '../schema/index.ts';
import type { Tx } from '../store.ts';

export type PersonRow = typeof people.$inferSelect;

export async function findPersonByLogin(tx: Tx, login: string): Promise<PersonRow | undefined> {
  const { people } = tx.t;
  const [row] = await tx.q.select().from(people).where(eq(people.login, login));
  return row;
}

/**
 * The new person, or undefined when the login is taken (also by another process's
 * transaction committed meanwhile: on PostgreSQL the insert waits for it, then does nothing).
 */
export async function insertPerson(tx: Tx, person: { login: string; displayName: string }, now: number): Promise<PersonRow | undefined> {
  const row = { id: newId('psn'), login: person.login, displayName: person.displayName, createdAt: now };
  const inserted = await tx.q.insert(tx.t.people).values(row).onConflictDoNothing().returning({ id: tx.t.people.id });
  return inserted.length === 1 ? row : undefined;
}

export async function listPeople(tx: Tx): Promise<PersonRow[]> {
  const { people } = tx.t;
  return tx.q.select().from(people).orderBy(asc(people.login));
}

/** The tokens of these people (never their hashes), oldest first. */
export async function tokensOfPeople(tx: Tx, personIds: string[]) {
  const { tokens, manufacturers } = tx.t;
  if (personIds.length === 0) return [];
  return tx.q
    .select({ id: tokens.id, personId: tokens.personId, name: tokens.name, role: tokens.role, manufacturer: manufacturers.name, createdAt: tokens.createdAt, revokedAt: tokens.revokedAt })
    .from(tokens)
    .leftJoin(manufacturers, eq(manufacturers.id, tokens.manufacturerId))
    .where(inArray(tokens.personId, personIds))
    .orderBy(asc(tokens.createdAt), asc(tokens.id));
}
