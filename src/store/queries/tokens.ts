// Token rows. Only SHA-256 hashes of tokens are stored; the token itself is shown once.
import { and, eq, isNull } from 'drizzle-orm';
import { tokens } from '../schema/index.ts';
import type { Tx } from './audit.ts';

export type TokenRow = typeof tokens.$inferSelect;

export function insertToken(tx: Tx, row: typeof tokens.$inferInsert): void {
  tx.insert(tokens).values(row).run();
}

export function findActiveTokenByHash(tx: Tx, tokenHash: string): TokenRow | undefined {
  return tx.select().from(tokens).where(and(eq(tokens.tokenHash, tokenHash), isNull(tokens.revokedAt))).get();
}

export function hasActiveAdmin(tx: Tx): boolean {
  return tx.select({ id: tokens.id }).from(tokens).where(and(eq(tokens.role, 'admin'), isNull(tokens.revokedAt))).limit(1).get() !== undefined;
}
