// What an admin does with tokens besides creating them: list them (names, roles, when;
// never a secret or its hash) and revoke one. A revoked token stops working at once, its
// console sessions included (every request authenticates again).
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { listTokens, revokeTokenRow, type TokenListRow } from '../store/queries/token-admin.ts';
import { auditActor, type Principal } from './tokens.ts';

export type TokenSummary = TokenListRow;

export function tokenList(ctx: Context, limit = 500): Promise<TokenSummary[]> {
  return listTokens(ctx.db, limit);
}

export async function revokeToken(ctx: Context, principal: Principal, id: string): Promise<void> {
  if (principal.role !== 'admin') throw new AppError('FORBIDDEN', 'only an admin revokes tokens');
  // Revoking the token in use would end this session mid-click; another admin can do it.
  if (id === principal.tokenId) throw new AppError('CONFLICT', 'this is the token you are signed in with; sign in with another admin token to revoke it');
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    if (!(await revokeTokenRow(tx, id, now))) throw new AppError('NOT_FOUND', `no active token ${id}`);
    await recordAudit(tx, { ...auditActor(principal), action: 'token.revoke', subject: id }, now);
  });
}
