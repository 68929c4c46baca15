// A live query as its reader sees it: each node with its Status, its value and the time
// the device answered, in the order asked (children of an interior node below it).
import type { Context } from '../../context.ts';
import { AppError } from '../../errors.ts';
import { describeDmStatus } from '../../omadm/status-codes.ts';
import type { DmOperationRow } from '../../store/queries/devices.ts';
import { type DeviceQueryRow, findQuery, queriesOf, queryNodes } from '../../store/queries/helpdesk.ts';
import { confirmationOf } from './confirmation.ts';
import { MAX_SHOWN_VALUE, type QueryResult, type QueryView, storedWakeSchema } from './schemas.ts';

export async function queryView(ctx: Context, deviceId: string, queryId: string): Promise<QueryView> {
  const row = await findQuery(ctx.db, deviceId, queryId);
  if (!row) throw new AppError('NOT_FOUND', `device ${deviceId} has no query ${queryId}`);
  return viewOf(ctx, row);
}

/** The device's newest query, if it has one. */
export async function latestQuery(ctx: Context, deviceId: string): Promise<QueryView | undefined> {
  const [row] = await queriesOf(ctx.db, deviceId, 1);
  return row ? viewOf(ctx, row) : undefined;
}

/** The device's recent queries, newest first (ids and when, for a list of links). */
export async function recentQueries(ctx: Context, deviceId: string, limit: number): Promise<Array<{ id: string; createdAt: string; createdBy: string }>> {
  return (await queriesOf(ctx.db, deviceId, limit)).map((q) => ({ id: q.id, createdAt: new Date(q.createdAt).toISOString(), createdBy: q.createdByName }));
}

async function viewOf(ctx: Context, row: DeviceQueryRow): Promise<QueryView> {
  const nodes = await queryNodes(ctx.db, row.id);
  // Children share their parent's position: in uri order they follow it.
  nodes.sort((a, b) => a.node.position - b.node.position || (a.op.uri < b.op.uri ? -1 : a.op.uri > b.op.uri ? 1 : a.op.createdAt - b.op.createdAt));
  const results = nodes.map(({ node, op }) => resultOf(node.source, op));
  const answered = results.filter((r) => r.state === 'done' || r.state === 'failed').length;
  // Canceled or expired with nodes not sent (cancel.ts): stopped, whatever came back before.
  const state = row.canceledAt !== null ? 'canceled' : answered === results.length ? 'done' : results.every((r) => r.state === 'queued') ? 'waiting' : 'asking';
  return {
    id: row.id,
    deviceId: row.deviceId,
    state,
    presets: JSON.parse(row.presets) as string[],
    wake: row.wake === null ? null : storedWakeSchema.parse(JSON.parse(row.wake)),
    createdBy: row.createdByName,
    createdAt: new Date(row.createdAt).toISOString(),
    canceled: row.canceledAt === null ? null : { at: new Date(row.canceledAt).toISOString(), reason: row.canceledReason ?? 'canceled' },
    confirmation: await confirmationOf(ctx.db, row.id),
    results,
  };
}

function resultOf(source: string, op: DmOperationRow): QueryResult {
  const items = op.result === null ? [] : (JSON.parse(op.result) as Array<{ uri: string; data: string; format?: string }>);
  const item = items.find((i) => i.uri === op.uri) ?? items[0];
  // A fix's Replace shows the value it writes; its re-read below shows what the device then holds.
  const value = item?.data ?? (op.command === 'Replace' ? op.data : null);
  return {
    id: op.id,
    uri: op.uri,
    source,
    command: op.command,
    state: op.state,
    statusCode: op.statusCode,
    statusText: op.statusCode === null ? null : describeDmStatus(op.statusCode),
    readAt: op.doneAt === null ? null : new Date(op.doneAt).toISOString(),
    value: value === null ? null : value.slice(0, MAX_SHOWN_VALUE),
    format: item?.format ?? null,
    truncated: value !== null && value.length > MAX_SHOWN_VALUE,
  };
}
