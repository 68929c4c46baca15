// Tokens as an admin manages them: the list (never the hashes) and revocation.
import { and, desc, eq, isNull } from 'drizzle-orm';
import type { Tx } from '../store.ts';

export interface TokenListRow {
  id: string;
  name: string;
  role: string;
  manufacturer: string | null;
  createdAt: number;
  revokedAt: number | null;
}

export async function listTokens(tx: Tx, limit: number): Promise<TokenListRow[]> {
  const { tokens, manufacturers } = tx.t;
  const found = await tx.q
    .select({ id: tokens.id, name: tokens.name, role: tokens.role, manufacturer: manufacturers.name, createdAt: tokens.createdAt, revokedAt: tokens.revokedAt })
    .from(tokens)
    .leftJoin(manufacturers, eq(manufacturers.id, tokens.manufacturerId))
    .orderBy(desc(tokens.createdAt), desc(tokens.id))
    .limit(limit);
  return found.map((r) => ({ ...r, createdAt: Number(r.createdAt), revokedAt: r.revokedAt === null ? null : Number(r.revokedAt) }));
}

/** Revokes an active token; false when there is none by that id (unknown or already revoked). */
export async function revokeTokenRow(tx: Tx, id: string, at: number): Promise<boolean> {
  const { tokens } = tx.t;
  const changed = await tx.q.update(tokens).set({ revokedAt: at }).where(and(eq(tokens.id, id), isNull(tokens.revokedAt))).returning({ id: tokens.id });
  return changed.length === 1;
}
