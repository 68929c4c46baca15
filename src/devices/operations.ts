// Device management operations (remote configuration, helpdesk queries): an operator
// queues a Get, Replace or Exec on any node; the next DM session sends it; its Status
// code and Results are kept for the operator to read.
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { newId } from '../store/ids.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { type DmOperationRow, findOperation, insertOperation } from '../store/queries/devices.ts';
import type { Tx } from '../store/store.ts';
import { auditActor, type Principal } from '../tokens/tokens.ts';
import { deviceRow } from './devices.ts';
import type { OperationView, QueueOperation } from './schemas.ts';

export async function queueOperation(ctx: Context, principal: Principal, deviceId: string, request: QueueOperation): Promise<{ id: string }> {
  await deviceRow(ctx, deviceId);
  const now = ctx.clock.now();
  const id = await ctx.db.transaction((tx) => queueOperationIn(tx, principal, deviceId, request, now));
  return { id };
}

/** Queues an operation and its audit inside the caller's transaction (a helpdesk fix adds its own rows beside it; `gateId`: held behind its user's answer). */
export async function queueOperationIn(tx: Tx, principal: Principal, deviceId: string, request: QueueOperation, now: number, gateId?: string): Promise<string> {
  const id = newId('op');
  await insertOperation(tx, { id, deviceId, command: request.command, uri: request.uri, data: request.data ?? null, format: request.format ?? null, type: request.type ?? null, correlator: request.correlator ?? null, state: 'queued', ...(gateId ? { gateId } : {}), createdBy: principal.personId, createdAt: now });
  await recordAudit(tx, { ...auditActor(principal), action: 'operation.queue', subject: id, details: { deviceId, command: request.command, uri: request.uri } }, now);
  return id;
}

export async function operationView(ctx: Context, deviceId: string, id: string): Promise<OperationView> {
  const row = await findOperation(ctx.db, deviceId, id);
  if (!row) throw new AppError('NOT_FOUND', `device ${deviceId} has no operation ${id}`);
  return toView(row);
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function toView(row: DmOperationRow): OperationView {
  return {
    id: row.id,
    command: row.command,
    uri: row.uri,
    status: row.state,
    ...(row.statusCode === null ? {} : { statusCode: row.statusCode }),
    ...(row.result === null ? {} : { result: JSON.parse(row.result) as OperationView['result'] }),
    createdAt: new Date(row.createdAt).toISOString(),
    sentAt: iso(row.sentAt),
    doneAt: iso(row.doneAt),
  };
}
