// Creating a campaign: a draft that names the build, the cohort filter, the stages and
// the thresholds. Nothing is deployed until an operator starts it.
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { newId } from '../store/ids.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { findBuild } from '../store/queries/builds.ts';
import { auditActor, type Principal } from '../tokens/tokens.ts';
import { createApplicationCampaign } from './create-application.ts';
import { createConfigurationCampaign } from './create-configuration.ts';
import { insertDraft } from './draft.ts';
import type { CreateCampaign } from './schemas.ts';
import { saveConfirmation } from '../devices/confirm-policy.ts';

/** What a rollback campaign records about the campaign it undoes (rollback.ts), in the same transaction. */
export interface RollbackOf {
  campaignId: string;
  reason: string | null;
  fromVersion: string;
  /** Devices the campaign updated, when the rollback was made. */
  devices: number;
}

export async function createCampaign(ctx: Context, principal: Principal, request: CreateCampaign, options: { rollbackOf?: RollbackOf } = {}): Promise<{ id: string }> {
  const now = ctx.clock.now();
  const id = newId('cmp');
  await ctx.db.transaction(async (tx) => {
    if (request.app !== undefined) {
      await createApplicationCampaign(tx, principal, id, request, request.app, ctx.config.campaigns, now);
      return;
    }
    if (request.profile !== undefined) {
      await createConfigurationCampaign(tx, principal, id, request, request.profile, ctx.config.campaigns, now);
      return;
    }
    const build = await findBuild(tx, request.buildId ?? '');
    if (!build) throw new AppError('NOT_FOUND', `no build ${request.buildId ?? ''}`);
    if (build.status === 'failed') throw new AppError('CONFLICT', `build ${build.id} failed to process; upload it again`);
    const model = request.cohort.model ?? build.model;
    if (model !== build.model) throw new AppError('VALIDATION', `cohort model ${model} does not match build ${build.id}, which is for ${build.model}`);
    await insertDraft(tx, principal, id, request, model, { buildId: build.id, kind: 'firmware', profileVersionId: null, dynamic: request.dynamic, mode: request.mode ?? 'install', bandwidthBytesPerSecond: request.bandwidthBytesPerSecond ?? null }, ctx.config.campaigns, now);
    if (request.confirm) await saveConfirmation(tx, id, request.confirm, now);
    const actor = auditActor(principal);
    await recordAudit(tx, { ...actor, action: 'campaign.create', subject: id, details: { name: request.name, buildId: build.id, cohort: request.cohort, stages: request.stages, forced: request.forced?.reason ?? null, mode: request.mode ?? 'install' } }, now);
    if (request.forced) await recordAudit(tx, { ...actor, action: 'campaign.force', subject: id, details: { by: principal.name, reason: request.forced.reason } }, now);
    if (options.rollbackOf) {
      const { campaignId, reason, fromVersion, devices } = options.rollbackOf;
      await recordAudit(tx, { ...actor, action: 'campaign.rollback', subject: campaignId, details: { by: principal.name, rollbackCampaign: id, fromVersion, toVersion: build.version, devices, reason } }, now);
    }
    if (request.startAt !== undefined) await recordAudit(tx, { ...actor, action: 'campaign.schedule', subject: id, details: { by: principal.name, startAt: new Date(request.startAt).toISOString() } }, now);
  });
  return { id };
}
