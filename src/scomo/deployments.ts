// SCOMO deployments: one operation (install, remove, activate, deactivate) on one component
// of one device, made by baseline reconciliation or asked for by an operator. Like a FUMO
// deployment, every state change is appended to its history and audited in the same
// transaction: scheduled -> commanded (the device accepted the Exec, 202) -> succeeded |
// failed(result code) | canceled.
import type { Context } from '../context.ts';
import { saveConfirmation } from '../devices/confirm-policy.ts';
import { deviceRow } from '../devices/devices.ts';
import { AppError } from '../errors.ts';
import { describeScomoResult } from '../omadm/scomo.ts';
import { newId } from '../store/ids.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { findAppVersionOf, findDeviceApps, findScomoDeployment, insertScomoDeployment, openScomoDeploymentsOf, type ScomoDeploymentRow, updateScomoDeployment } from '../store/queries/scomo.ts';
import type { Tx } from '../store/store.ts';
import { auditActor, type Principal } from '../tokens/tokens.ts';
import { componentsOf, type InventoryRecord } from './inventory.ts';
import type { Change } from './reconcile.ts';
import { scomoHistorySchema, type ScomoDeploymentView, type ScomoRequest } from './schemas.ts';

export type ScomoState = ScomoDeploymentRow['state'];

/**
 * Creates a scheduled deployment for one change (inside the caller's transaction); the device
 * gets its commands at its next session. Undefined when the component already has an open
 * operation on the device (another request won the race): nothing is made or audited.
 */
export async function scheduleChange(tx: Tx, device: { id: string; model: string }, change: Change & { mode?: 'downloadInstall' | 'twoStep' }, by: { reason: 'baseline' | 'operator' | 'campaign'; personId: string; name: string }, now: number, link: { deploymentId?: string } = {}): Promise<string | undefined> {
  let appVersionId: string | null = null;
  if (change.operation === 'install') {
    const version = change.version ? await findAppVersionOf(tx, device.model, change.component, change.version) : undefined;
    if (!version) throw new AppError('NOT_FOUND', `model ${device.model} has no application ${change.component} ${change.version ?? '(no version given)'}`);
    appVersionId = version.id;
  }
  const id = newId('sdp');
  const cause = by.reason === 'baseline' ? 'the model baseline asks for it' : by.reason === 'campaign' ? `application campaign ${by.name} (deployment ${link.deploymentId ?? '?'})` : `asked for by ${by.name}`;
  const inserted = await insertScomoDeployment(tx, {
    id,
    deviceId: device.id,
    component: change.component,
    operation: change.operation,
    mode: change.mode ?? 'downloadInstall',
    appVersionId,
    targetVersion: change.version ?? null,
    appPackageId: null,
    // An install downloads into a node of its own; the others act on the deployed component.
    node: change.operation === 'install' ? id : (change.node ?? ''),
    state: 'scheduled',
    resultCode: null,
    attempts: 0,
    reason: by.reason,
    deploymentId: link.deploymentId ?? null,
    history: JSON.stringify([{ at: new Date(now).toISOString(), state: 'scheduled', cause }]),
    createdBy: by.personId,
    createdAt: now,
    updatedAt: now,
  });
  if (!inserted) return undefined;
  await recordAudit(tx, { actor: by.personId, ...(by.reason === 'operator' ? { actorName: by.name } : {}), action: 'scomo.schedule', subject: id, details: { deviceId: device.id, ...change } }, now);
  return id;
}

/** Moves a SCOMO deployment, appending the history entry and the audit event (inside the caller's transaction). */
export async function transitionScomo(tx: Tx, row: ScomoDeploymentRow, state: ScomoState, cause: string, now: number, changes: Partial<ScomoDeploymentRow> = {}): Promise<void> {
  const history = scomoHistorySchema.parse(JSON.parse(row.history));
  history.push({ at: new Date(now).toISOString(), state, cause });
  await updateScomoDeployment(tx, row.id, { ...changes, state, history: JSON.stringify(history), updatedAt: now });
  await recordAudit(tx, { actor: 'dm', action: 'scomo.state', subject: row.id, details: { from: row.state, to: state, cause } }, now);
}

/** An operator's one-off SCOMO operation on one device (POST /api/v1/devices/:id/apps). */
export async function requestScomo(ctx: Context, principal: Principal, deviceId: string, request: ScomoRequest): Promise<{ id: string }> {
  const device = await deviceRow(ctx, deviceId);
  if (request.operation === 'install' && !request.version) throw new AppError('VALIDATION', 'an install names the version to install');
  const now = ctx.clock.now();
  const id = await ctx.db.transaction(async (tx) => {
    const busy = () => new AppError('CONFLICT', `device ${device.id} already has a SCOMO operation on ${request.component} under way`);
    if ((await openScomoDeploymentsOf(tx, device.id)).some((d) => d.component === request.component)) throw busy();
    let node: string | undefined;
    if (request.operation !== 'install') {
      const row = await findDeviceApps(tx, device.id);
      const installed = row ? componentsOf(JSON.parse(row.components) as InventoryRecord).components : [];
      node = installed.find((c) => c.component === request.component)?.node;
      if (!node) throw new AppError('CONFLICT', `device ${device.id} has not reported ${request.component} deployed; it cannot be ${request.operation}d`);
    }
    const change = { operation: request.operation, component: request.component, ...(request.version ? { version: request.version } : {}), ...(node ? { node } : {}), ...(request.mode ? { mode: request.mode } : {}) };
    const made = await scheduleChange(tx, device, change, { reason: 'operator', personId: principal.personId, name: principal.name }, now);
    // A request that raced another past the read above: the unique index refused this one.
    if (made === undefined) throw busy();
    // Asked of the device's user before its commands go out (scomo/confirmation.ts).
    if (request.confirm) await saveConfirmation(tx, made, request.confirm, now);
    await recordAudit(tx, { ...auditActor(principal), action: 'scomo.request', subject: made, details: { deviceId: device.id, ...change } }, now);
    return made;
  });
  return { id };
}

export function scomoView(row: ScomoDeploymentRow): ScomoDeploymentView {
  return {
    id: row.id,
    deviceId: row.deviceId,
    component: row.component,
    operation: row.operation,
    mode: row.mode,
    targetVersion: row.targetVersion,
    state: row.state,
    resultCode: row.resultCode,
    result: row.resultCode === null ? null : describeScomoResult(row.resultCode),
    reason: row.reason,
    history: scomoHistorySchema.parse(JSON.parse(row.history)),
  };
}

export async function scomoDeploymentView(ctx: Context, id: string): Promise<ScomoDeploymentView> {
  const row = await findScomoDeployment(ctx.db, id);
  if (!row) throw new AppError('NOT_FOUND', `no SCOMO deployment ${id}`);
  return scomoView(row);
}
