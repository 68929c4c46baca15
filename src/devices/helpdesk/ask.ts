// Asking a device now: the operator's presets and node paths become Gets queued for the
// device (one device operation each, so the DM session sends and records them like any
// other), tied together as one query; then a Package 0 wakes the device, or the query
// waits for its next poll. Asking is audited on the device: a helpdesk reads the device
// of a customer, and who read what, when, is part of its history.
import type { Context } from '../../context.ts';
import { saveConfirmation } from '../confirm-policy.ts';
import { AppError } from '../../errors.ts';
import { HELPDESK_PRESETS, type HelpdeskPreset } from '../../omadm/helpdesk-presets.ts';
import { recordAudit } from '../../store/queries/audit.ts';
import { insertOperation } from '../../store/queries/devices.ts';
import { insertQuery, insertQueryNodes, pruneQueries, updateQueryWake } from '../../store/queries/helpdesk.ts';
import { newId } from '../../store/ids.ts';
import type { Tx } from '../../store/store.ts';
import { auditActor, type Principal } from '../../tokens/tokens.ts';
import { deviceRow } from '../devices.ts';
import { notifyDevice } from '../notify.ts';
import { type CreateQuery, QUERIES_KEPT, type QueryWake } from './schemas.ts';
import { queryView } from './view.ts';
import type { QueryView } from './schemas.ts';

/** A path typed in is read as it is, and one level of children when it is an interior node. */
const TYPED_PATH_DEPTH = 1;

interface Planned {
  uri: string;
  depth: number;
  source: string;
}

/** The nodes a query reads, in the operator's order, each once (the first preset to name it keeps it). */
export function plannedNodes(request: CreateQuery): Planned[] {
  const out = new Map<string, Planned>();
  for (const preset of (request.presets ?? []) as HelpdeskPreset[]) {
    for (const node of HELPDESK_PRESETS[preset].nodes) {
      if (!out.has(node.uri)) out.set(node.uri, { uri: node.uri, depth: 'depth' in node ? node.depth : 0, source: preset });
    }
  }
  for (const uri of request.nodes ?? []) if (!out.has(uri)) out.set(uri, { uri, depth: TYPED_PATH_DEPTH, source: 'node' });
  return [...out.values()];
}

/** Queues Gets of `nodes` as part of query `queryId`, at `position` onwards (held behind `gateId`'s user answer, if given). */
export async function queueQueryGets(tx: Tx, deviceId: string, queryId: string, createdBy: string, nodes: Array<Planned & { position: number }>, now: number, gateId?: string): Promise<void> {
  const rows = [];
  for (const node of nodes) {
    const opId = newId('op');
    await insertOperation(tx, { id: opId, deviceId, command: 'Get', uri: node.uri, data: null, format: null, type: null, correlator: null, state: 'queued', ...(gateId ? { gateId } : {}), createdBy, createdAt: now });
    rows.push({ opId, queryId, position: node.position, source: node.source, depth: node.depth });
  }
  await insertQueryNodes(tx, rows);
}

export async function askDevice(ctx: Context, principal: Principal, deviceId: string, request: CreateQuery): Promise<QueryView> {
  await deviceRow(ctx, deviceId);
  const nodes = plannedNodes(request);
  const wake = request.wake ?? true;
  const id = newId('qry');
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    await insertQuery(tx, { id, deviceId, presets: JSON.stringify(request.presets ?? []), wake: null, createdBy: principal.personId, createdByName: principal.name, createdAt: now });
    // With `confirm`, the reads wait for the device's user to accept (helpdesk/confirmation.ts).
    await queueQueryGets(tx, deviceId, id, principal.personId, nodes.map((n, position) => ({ ...n, position })), now, request.confirm ? id : undefined);
    if (request.confirm) await saveConfirmation(tx, id, request.confirm, now);
    await recordAudit(tx, { ...auditActor(principal), action: 'device.query', subject: deviceId, details: { queryId: id, presets: request.presets ?? [], nodes: request.nodes ?? [], wake, ...(request.confirm ? { confirm: request.confirm.text } : {}) } }, now);
    await pruneQueries(tx, deviceId, QUERIES_KEPT);
  });
  if (wake) {
    const outcome = await wakeDevice(ctx, principal, deviceId);
    await ctx.db.transaction((tx) => updateQueryWake(tx, id, JSON.stringify(outcome)));
  }
  return queryView(ctx, deviceId, id);
}

/** A Package 0 now; a device that cannot be reached answers at its next poll, so failing to wake it fails nothing. */
export async function wakeDevice(ctx: Context, principal: Principal, deviceId: string): Promise<QueryWake> {
  try {
    return await notifyDevice(ctx, principal, deviceId);
  } catch (err) {
    if (err instanceof AppError) return { delivered: false, reason: err.message };
    throw err;
  }
}
