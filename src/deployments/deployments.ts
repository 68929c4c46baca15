// Deployments: "update this device to build B". Creating one picks the package (the
// delta from the device's reported version, else the full image); every state change
// is appended to the history with its time and cause, in the same transaction.
import type { Context } from '../context.ts';
import { deviceRow } from '../devices/devices.ts';
import { AppError } from '../errors.ts';
import { newId } from '../store/ids.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { findBuild, packagesOf } from '../store/queries/builds.ts';
import { activeDeploymentOf, type DeploymentRow, findDeployment, insertDeploymentIfFree, updateDeployment } from '../store/queries/deployments.ts';
import type { Tx } from '../store/store.ts';
import { auditActor, type Principal } from '../tokens/tokens.ts';
import { saveConfirmation } from '../devices/confirm-policy.ts';
import { choosePackage, type DeploymentState } from './policy.ts';
import type { CreateDeployment, DeploymentView, HistoryEntry } from './schemas.ts';

export async function createDeployment(ctx: Context, principal: Principal, request: CreateDeployment): Promise<{ id: string; packageId: string }> {
  const device = await deviceRow(ctx, request.deviceId);
  const now = ctx.clock.now();
  const id = newId('dep');
  const packageId = await ctx.db.transaction(async (tx) => {
    const build = await findBuild(tx, request.buildId);
    if (!build) throw new AppError('NOT_FOUND', `no build ${request.buildId}`);
    if (build.model !== device.model) throw new AppError('CONFLICT', `build ${build.id} is for model ${build.model}; device ${device.id} is a ${device.model}`);
    if (build.status !== 'ready') throw new AppError('CONFLICT', `build ${build.id} is ${build.status}; deploy it once it is ready`);
    const active = await activeDeploymentOf(tx, device.id);
    if (active) throw busyDevice(device.id, active);
    const choice = choosePackage(await packagesOf(tx, build.id), device.firmwareVersion, build.version);
    if ('none' in choice) {
      throw new AppError('CONFLICT', choice.none === 'already-current' ? `device ${device.id} already runs ${build.version}` : `build ${build.id} has no package to deliver`);
    }
    const history: HistoryEntry[] = [{ at: new Date(now).toISOString(), state: 'scheduled', cause: `created by ${principal.name}` }];
    const row = { id, deviceId: device.id, buildId: build.id, packageId: choice.packageId, state: 'scheduled', history: JSON.stringify(history), mode: request.mode ?? 'downloadAndUpdate', createdBy: principal.personId, createdAt: now, updatedAt: now } as const;
    // The read above is not the guard: a concurrent request (or server process) may have
    // found the device free too. The database lets one insert; the others are told which.
    if (!(await insertDeploymentIfFree(tx, row))) {
      const winner = await activeDeploymentOf(tx, device.id);
      if (!winner) throw new Error(`deployment ${id} was not inserted, and device ${device.id} has none under way`);
      throw busyDevice(device.id, winner);
    }
    if (request.confirm) await saveConfirmation(tx, id, request.confirm, now);
    await recordAudit(tx, { ...auditActor(principal), action: 'deployment.create', subject: id, details: { deviceId: device.id, buildId: build.id, packageId: choice.packageId, fromVersion: device.firmwareVersion } }, now);
    return choice.packageId;
  });
  return { id, packageId };
}

/** The 409 for a device that already has a deployment under way, with its id (and its campaign's). */
function busyDevice(deviceId: string, active: DeploymentRow): AppError {
  const where = active.campaignId ? ` in campaign ${active.campaignId}` : '';
  return new AppError('CONFLICT', `device ${deviceId} already has deployment ${active.id}${where} under way (${active.state})`, {
    details: { deploymentId: active.id, ...(active.campaignId ? { campaignId: active.campaignId } : {}) },
  });
}

/** Moves a deployment to `state`, appending the history entry (inside the caller's transaction). */
export async function transition(tx: Tx, row: DeploymentRow, state: DeploymentState, cause: string, now: number, changes: Partial<DeploymentRow> = {}): Promise<void> {
  const history = JSON.parse(row.history) as HistoryEntry[];
  history.push({ at: new Date(now).toISOString(), state, cause });
  await updateDeployment(tx, row, { ...changes, state, history: JSON.stringify(history), updatedAt: now });
  await recordAudit(tx, { actor: 'dm', action: 'deployment.state', subject: row.id, details: { from: row.state, to: state, cause } }, now);
}

export async function deploymentView(ctx: Context, id: string): Promise<DeploymentView> {
  const row = await findDeployment(ctx.db, id);
  if (!row) throw new AppError('NOT_FOUND', `no deployment ${id}`);
  return {
    id: row.id,
    deviceId: row.deviceId,
    buildId: row.buildId,
    profileVersionId: row.profileVersionId,
    packageId: row.packageId,
    state: row.state,
    resultCode: row.resultCode,
    bytesServed: row.bytesServed,
    attempts: row.attempts,
    mode: row.mode,
    history: JSON.parse(row.history) as HistoryEntry[],
  };
}
