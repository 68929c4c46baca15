// Fixing a setting from a live query: a one-device Replace of the node (the device
// operation queue of operations.ts), then a Get of it again so the query shows what the
// device holds afterwards. Recorded in the device's history. A thin call on purpose: a
// one-device configuration profile apply can take its place without changing callers.
import type { Context } from '../../context.ts';
import { saveConfirmation } from '../confirm-policy.ts';
import { AppError } from '../../errors.ts';
import { recordAudit } from '../../store/queries/audit.ts';
import { findQuery, insertQueryNodes, queryNodeCount } from '../../store/queries/helpdesk.ts';
import { auditActor, type Principal } from '../../tokens/tokens.ts';
import { queueOperationIn } from '../operations.ts';
import { queueQueryGets, wakeDevice } from './ask.ts';
import { fixGateId } from './confirmation.ts';
import { type FixNode, MAX_QUERY_NODES, type QueryView } from './schemas.ts';
import { queryView } from './view.ts';

/** Longest part of a value the history keeps (the value itself is on the operation). */
const AUDITED_VALUE = 200;

export async function fixNode(ctx: Context, principal: Principal, deviceId: string, queryId: string, fix: FixNode): Promise<QueryView> {
  const query = await findQuery(ctx.db, deviceId, queryId);
  if (!query) throw new AppError('NOT_FOUND', `device ${deviceId} has no query ${queryId}`);
  if (query.canceledAt !== null) throw new AppError('CONFLICT', `query ${queryId} is over (${query.canceledReason ?? 'canceled'}): ask the device again`);
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    const position = await queryNodeCount(tx, queryId);
    if (position + 2 > MAX_QUERY_NODES) throw new AppError('CONFLICT', `query ${queryId} holds ${MAX_QUERY_NODES} nodes already: ask the device again`);
    // With `confirm`, the Replace and its re-read wait for the device's user (helpdesk/confirmation.ts).
    const gateId = fix.confirm ? fixGateId(queryId, position) : undefined;
    const opId = await queueOperationIn(tx, principal, deviceId, { command: 'Replace', uri: fix.uri, data: fix.data, format: fix.format ?? 'chr' }, now, gateId);
    await insertQueryNodes(tx, [{ opId, queryId, position, source: 'fix', depth: 0 }]);
    // Queued a millisecond later: the queue goes out in creation order, so the device reads
    // the node after it has changed it.
    await queueQueryGets(tx, deviceId, queryId, principal.personId, [{ uri: fix.uri, depth: 0, source: 'fix', position: position + 1 }], now + 1, gateId);
    if (gateId && fix.confirm) await saveConfirmation(tx, gateId, fix.confirm, now);
    await recordAudit(tx, { ...auditActor(principal), action: 'device.fix', subject: deviceId, details: { queryId, operationId: opId, uri: fix.uri, value: fix.data.slice(0, AUDITED_VALUE), ...(fix.confirm ? { confirm: fix.confirm.text } : {}) } }, now);
  });
  // Woken again when the query woke it: the operator is waiting on the line.
  if (query.wake !== null) await wakeDevice(ctx, principal, deviceId);
  return queryView(ctx, deviceId, queryId);
}
