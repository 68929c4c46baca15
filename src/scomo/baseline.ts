// Baselines: per model, the default application set (each component at a version) and the
// components the model must not run. Set by an operator (who decides what the fleet runs,
// as with campaigns); every named version must be an uploaded application of that model.
// Devices are reconciled against it in their DM sessions (session.ts).
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { findModelByName } from '../store/queries/manufacturers.ts';
import { closedScomoDeploymentsOf, findAppVersionOf, findBaseline, findDeviceApps, openScomoDeploymentsOf, saveBaseline } from '../store/queries/scomo.ts';
import { deviceRow } from '../devices/devices.ts';
import { auditActor, type Principal } from '../tokens/tokens.ts';
import { scomoView } from './deployments.ts';
import { componentsOf, type InventoryRecord } from './inventory.ts';
import { driftOf } from './reconcile.ts';
import { type Baseline, baselineSchema } from './schemas.ts';

export interface BaselineView extends Baseline {
  model: string;
  updatedAt: string;
}

export async function setBaseline(ctx: Context, principal: Principal, model: string, baseline: Baseline): Promise<BaselineView> {
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    if (!(await findModelByName(tx, model))) throw new AppError('NOT_FOUND', `no model ${model}`);
    for (const app of baseline.apps) {
      if (!(await findAppVersionOf(tx, model, app.component, app.version))) throw new AppError('VALIDATION', `model ${model} has no application ${app.component} ${app.version}; upload it first (fota app upload)`);
    }
    await saveBaseline(tx, { model, spec: JSON.stringify(baseline), updatedBy: principal.personId, updatedAt: now });
    await recordAudit(tx, { ...auditActor(principal), action: 'baseline.set', subject: model, details: { ...baseline } }, now);
  });
  return { model, ...baseline, updatedAt: new Date(now).toISOString() };
}

export async function showBaseline(ctx: Context, principal: Principal, model: string): Promise<BaselineView> {
  const owner = await findModelByName(ctx.db, model);
  // A manufacturer sees its own models' baselines; another's is as absent as none.
  if (!owner || (principal.role === 'manufacturer' && owner.manufacturerId !== principal.manufacturerId)) throw new AppError('NOT_FOUND', `no model ${model}`);
  const row = await findBaseline(ctx.db, model);
  if (!row) throw new AppError('NOT_FOUND', `model ${model} has no baseline`);
  return { model, ...baselineSchema.parse(JSON.parse(row.spec)), updatedAt: new Date(row.updatedAt).toISOString() };
}

/** A device's applications as last read, what its baseline still asks of it, and its SCOMO deployments. */
export async function deviceAppsView(ctx: Context, deviceId: string) {
  const device = await deviceRow(ctx, deviceId);
  const row = await findDeviceApps(ctx.db, device.id);
  const components = row ? componentsOf(JSON.parse(row.components) as InventoryRecord).components : [];
  const baseline = await findBaseline(ctx.db, device.model);
  const drift = baseline ? driftOf(baselineSchema.parse(JSON.parse(baseline.spec)), components).map((c) => ({ operation: c.operation, component: c.component, ...(c.version ? { version: c.version } : {}) })) : [];
  const deployments = [...(await openScomoDeploymentsOf(ctx.db, device.id)), ...(await closedScomoDeploymentsOf(ctx.db, device.id, 50))].map(scomoView);
  return { deviceId: device.id, readAt: row && row.readAt > 0 ? new Date(row.readAt).toISOString() : null, components, drift, deployments };
}
