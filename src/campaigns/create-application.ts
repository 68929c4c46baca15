// Creating an application campaign: the same draft as a firmware campaign (stages,
// thresholds, approvals, window, four eyes), with a SCOMO operation as its payload: install
// (or update to) an uploaded application version of the cohort's model, or remove, activate
// or deactivate a component. Each device's deployment becomes one SCOMO operation in its
// session (scomo/campaign-work.ts). An application is small and installed in one
// DownloadInstall, so the firmware-only settings are refused rather than silently ignored:
// two-step and download-only modes, a bandwidth budget, dynamic cohorts (a device that joins
// later is the baseline's to reconcile) and the FUMO user confirmation.
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { findModelByName } from '../store/queries/manufacturers.ts';
import { type AppVersionRow, findAppVersion, findAppVersionOf } from '../store/queries/scomo.ts';
import type { Tx } from '../store/store.ts';
import { auditActor, type Principal } from '../tokens/tokens.ts';
import { insertDraft } from './draft.ts';
import { appPayloadLabel } from './app-payload.ts';
import type { AppPayload, CreateCampaign } from './schemas.ts';

export async function createApplicationCampaign(tx: Tx, principal: Principal, id: string, request: CreateCampaign, app: AppPayload, settings: Config['campaigns'], now: number): Promise<void> {
  refuseFirmwareSettings(request);
  const { model, component, version } = await resolveApp(tx, app, request.cohort.model);
  const payload = { appOperation: app.operation, appComponent: component, appVersionId: version?.id ?? null };
  await insertDraft(tx, principal, id, request, model, { buildId: null, kind: 'application', profileVersionId: null, dynamic: false, mode: 'install', bandwidthBytesPerSecond: null, ...payload }, settings, now);
  const actor = auditActor(principal);
  const label = appPayloadLabel({ appOperation: app.operation, appComponent: component }, version?.version ?? null);
  await recordAudit(tx, { ...actor, action: 'campaign.create', subject: id, details: { name: request.name, kind: 'application', app: label, ...payload, cohort: request.cohort, stages: request.stages, forced: request.forced?.reason ?? null } }, now);
  if (request.forced) await recordAudit(tx, { ...actor, action: 'campaign.force', subject: id, details: { by: principal.name, reason: request.forced.reason } }, now);
  if (request.startAt !== undefined) await recordAudit(tx, { ...actor, action: 'campaign.schedule', subject: id, details: { by: principal.name, startAt: new Date(request.startAt).toISOString() } }, now);
}

function refuseFirmwareSettings(request: CreateCampaign): void {
  if (request.mode !== undefined && request.mode !== 'install') throw new AppError('VALIDATION', `mode ${request.mode} is for firmware; an application campaign installs with one SCOMO DownloadInstall`);
  if (request.bandwidthBytesPerSecond !== undefined) throw new AppError('VALIDATION', 'a bandwidth budget is for firmware downloads; leave it out of an application campaign');
  if (request.dynamic) throw new AppError('VALIDATION', "an application campaign is not dynamic: put the version in the model's baseline for devices that come later");
  if (request.confirm) throw new AppError('VALIDATION', "confirm asks before FUMO steps; an application campaign's SCOMO operations do not take it");
}

/**
 * The model, component and (install) version the payload names. By id, the application's own
 * model must be the cohort's (an operator cannot send one model's application to another);
 * by component, the cohort names its model and an install's version must be uploaded for it.
 */
export async function resolveApp(tx: Tx, app: AppPayload, cohortModel: string | undefined): Promise<{ model: string; component: string; version: AppVersionRow | undefined }> {
  if (app.id !== undefined) {
    const row = await findAppVersion(tx, app.id);
    if (!row) throw new AppError('NOT_FOUND', `no application ${app.id} (fota app list shows the uploaded ones)`);
    if (cohortModel !== undefined && cohortModel !== row.model) throw new AppError('VALIDATION', `application ${app.id} (${row.component} ${row.version}) is for model ${row.model}, not the cohort model ${cohortModel}`);
    return { model: row.model, component: row.component, version: app.operation === 'install' ? row : undefined };
  }
  const component = app.component ?? '';
  if (cohortModel === undefined) throw new AppError('VALIDATION', `an application campaign for ${component} names its cohort's model (cohort.model), or the application by id`);
  if (!(await findModelByName(tx, cohortModel))) throw new AppError('NOT_FOUND', `no model ${cohortModel}`);
  if (app.operation !== 'install') return { model: cohortModel, component, version: undefined };
  const version = await findAppVersionOf(tx, cohortModel, component, app.version ?? '');
  if (!version) throw new AppError('NOT_FOUND', `model ${cohortModel} has no application ${component} ${app.version ?? ''}; upload it first (fota app upload)`);
  return { model: cohortModel, component, version };
}
