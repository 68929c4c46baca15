// Ending a live query before the device answered it: an operator cancels it (the customer
// hung up, the wrong device was asked), or it expires when the device never picked it up
// (switched off, out of coverage), so a Get asked weeks ago is not sent when the device
// comes back. Either way its nodes not sent yet fail without a Status, nothing more is
// read, the query says when and why it stopped, and the device's history records it.
// Nodes already sent are left to their answer: the device may be reading them right now.
import type { Context } from '../../context.ts';
import { AppError } from '../../errors.ts';
import { recordAudit } from '../../store/queries/audit.ts';
import { cancelQueryOperations, findQuery, unpickedQueries } from '../../store/queries/helpdesk.ts';
import { auditActor, type Principal } from '../../tokens/tokens.ts';
import type { QueryView } from './schemas.ts';
import { queryView } from './view.ts';

/** Queries expired per transaction: a short one each, however many are due. */
const EXPIRED_PER_SWEEP = 200;

export async function cancelQuery(ctx: Context, principal: Principal, deviceId: string, queryId: string): Promise<QueryView> {
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    const query = await findQuery(tx, deviceId, queryId);
    if (!query) throw new AppError('NOT_FOUND', `device ${deviceId} has no query ${queryId}`);
    if (query.canceledAt !== null) throw new AppError('CONFLICT', `query ${queryId} is over already: ${query.canceledReason ?? 'canceled'}`);
    const reason = `canceled by ${principal.name}`;
    const operations = await cancelQueryOperations(tx, queryId, now, reason);
    // Rolled back: a query whose every node went out is the device's to answer now.
    if (operations === 0) throw new AppError('CONFLICT', `query ${queryId} has nothing left to cancel: every node was sent to the device`);
    await recordAudit(tx, { ...auditActor(principal), action: 'device.query-canceled', subject: deviceId, details: { queryId, operations, cause: reason } }, now);
  });
  return queryView(ctx, deviceId, queryId);
}

/** Ends the queries whose reads the device has not picked up within the expiry (FOTA_QUERY_EXPIRY_HOURS); returns how many. */
export async function expireQueries(ctx: Context): Promise<number> {
  const now = ctx.clock.now();
  const before = now - ctx.config.queryExpiryMs;
  const hours = Math.round(ctx.config.queryExpiryMs / 3_600_000);
  return ctx.db.transaction(async (tx) => {
    const due = await unpickedQueries(tx, before, EXPIRED_PER_SWEEP);
    for (const query of due) {
      const cause = `expired: the device did not pick it up within ${hours} h`;
      const operations = await cancelQueryOperations(tx, query.id, now, cause, before);
      await recordAudit(tx, { actor: 'dm', action: 'device.query-expired', subject: query.deviceId, details: { queryId: query.id, operations, cause } }, now);
    }
    return due.length;
  });
}
