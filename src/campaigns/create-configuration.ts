// Creating a configuration campaign: the same draft as a firmware campaign (stages,
// thresholds, approvals, window, four eyes), with a profile version as its payload instead
// of a build. The profile must be for the cohort's model. A configuration is applied in
// one DM session (no download), so the firmware-only settings are refused rather than
// silently ignored: two-step and download-only modes, a bandwidth budget, and dynamic
// cohorts (a device that joins later gets the model's provisioning profile instead).
import type { Config } from '../config.ts';
import { saveConfirmation } from '../devices/confirm-policy.ts';
import { AppError } from '../errors.ts';
import { requireModel, resolveProfileRef } from '../profiles/profiles.ts';
import { recordAudit } from '../store/queries/audit.ts';
import type { Tx } from '../store/store.ts';
import { auditActor, type Principal } from '../tokens/tokens.ts';
import { insertDraft } from './draft.ts';
import type { CreateCampaign } from './schemas.ts';

export async function createConfigurationCampaign(tx: Tx, principal: Principal, id: string, request: CreateCampaign, profileRef: string, settings: Config['campaigns'], now: number): Promise<void> {
  const version = await resolveProfileRef(tx, profileRef);
  const model = request.cohort.model ?? version.model;
  requireModel(version, model, 'the cohort model');
  if (request.mode !== undefined && request.mode !== 'install') throw new AppError('VALIDATION', `mode ${request.mode} is for firmware; a configuration campaign applies its profile in one session`);
  if (request.bandwidthBytesPerSecond !== undefined) throw new AppError('VALIDATION', 'a bandwidth budget is for firmware downloads; a configuration campaign downloads nothing');
  if (request.dynamic) throw new AppError('VALIDATION', 'a configuration campaign is not dynamic: make the profile the model\'s provisioning profile for devices that come later');
  await insertDraft(tx, principal, id, request, model, { buildId: null, kind: 'configuration', profileVersionId: version.id, dynamic: false, mode: 'install', bandwidthBytesPerSecond: null }, settings, now);
  // Each device's user confirms the change before it is written (profiles/confirmation.ts).
  if (request.confirm) await saveConfirmation(tx, id, request.confirm, now);
  const actor = auditActor(principal);
  await recordAudit(tx, { ...actor, action: 'campaign.create', subject: id, details: { name: request.name, kind: 'configuration', profile: `${version.name}@${version.version}`, profileVersionId: version.id, cohort: request.cohort, stages: request.stages, forced: request.forced?.reason ?? null } }, now);
  if (request.forced) await recordAudit(tx, { ...actor, action: 'campaign.force', subject: id, details: { by: principal.name, reason: request.forced.reason } }, now);
  if (request.startAt !== undefined) await recordAudit(tx, { ...actor, action: 'campaign.schedule', subject: id, details: { by: principal.name, startAt: new Date(request.startAt).toISOString() } }, now);
}
