// Token rows. Only SHA-256 hashes of tokens are stored; the token itself is shown once.
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { tokens } from '../schema/index.ts';
import type { Tx } from '../store.ts';
import { preparedRead } from './prepared.ts';

export type TokenRow = typeof tokens.$inferSelect;

export async function insertToken(tx: Tx, row: typeof tokens.$inferInsert): Promise<void> {
  await tx.q.insert(tx.t.tokens).values(row);
}

export async function findActiveTokenByHash(tx: Tx, tokenHash: string): Promise<TokenRow | undefined> {
  const { tokens } = tx.t;
  const [row] = await tx.q.select().from(tokens).where(and(eq(tokens.tokenHash, tokenHash), isNull(tokens.revokedAt)));
  return row;
}

// Prepared once: every authenticated API request reads its caller, and building the join
// in drizzle and compiling it in SQLite cost more than running it (an upload's profile).
const caller = preparedRead(({ q, t: { tokens, people, manufacturers } }) =>
  q
    .select({ token: tokens, person: people, manufacturer: manufacturers.name })
    .from(tokens)
    .innerJoin(people, eq(people.id, tokens.personId))
    .leftJoin(manufacturers, eq(manufacturers.id, tokens.manufacturerId))
    .where(and(eq(tokens.tokenHash, sql.placeholder('tokenHash')), isNull(tokens.revokedAt)))
    .prepare(),
);

/** What every authenticated request needs in one read: the token, its person and its manufacturer. */
export async function findCaller(tx: Tx, tokenHash: string) {
  return (await caller(tx).execute({ tokenHash }))[0];
}

export async function hasActiveAdmin(tx: Tx): Promise<boolean> {
  const { tokens } = tx.t;
  const found = await tx.q.select({ id: tokens.id }).from(tokens).where(and(eq(tokens.role, 'admin'), isNull(tokens.revokedAt))).limit(1);
  return found.length > 0;
}
