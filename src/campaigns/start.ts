// Starting a campaign: the cohort is snapshotted (devices already on the target version,
// or busy with a one-device deployment, are left out and counted), each device is placed
// in a stage and given a pending deployment with its package, and the first stage starts
// (or waits for approval). Refused with 409 when any cohort device is in another running
// or paused campaign. All of it is one transaction: a crash leaves the draft untouched.
import { randomBytes } from 'node:crypto';
import type { Context } from '../context.ts';
import { packageChooser } from '../deployments/policy.ts';
import { AppError } from '../errors.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { cohortInOtherCampaigns, findCampaign, insertCampaignDeployments, snapshotCohort, stagesOf, updateCampaign, updateStage } from '../store/queries/campaigns.ts';
import { auditActor, type Principal } from '../tokens/tokens.ts';
import { assignStages } from './assign.ts';
import { cohortOf, toFilter } from './cohort.ts';
import { deliverableBuild } from './deliverable.ts';
import { stepBy, takeStep } from './engine.ts';
import { firstStep } from './policy.ts';

export interface StartResult {
  deployments: number;
  alreadyCurrent: number;
  busy: number;
}

export async function startCampaign(ctx: Context, principal: Principal, id: string, reason?: string): Promise<StartResult> {
  const now = ctx.clock.now();
  const by = stepBy(ctx, principal.personId);
  const result = await ctx.db.transaction(async (tx) => {
    const campaign = await findCampaign(tx, id, { forUpdate: true });
    if (!campaign) throw new AppError('NOT_FOUND', `no campaign ${id}`);
    if (campaign.state !== 'draft') throw new AppError('CONFLICT', `campaign ${id} is ${campaign.state}; only a draft can be started`);
    const { build, packages } = await deliverableBuild(tx, campaign.buildId, 'start the campaign');
    const filter = toFilter(cohortOf(campaign));
    const [conflict] = await cohortInOtherCampaigns(tx, filter, id);
    if (conflict) {
      throw new AppError('CONFLICT', `${conflict.devices} device(s) of this cohort are in campaign ${conflict.campaignId}, which is still running or paused; a device is in one campaign at a time`, {
        details: { campaignId: conflict.campaignId, devices: conflict.devices },
      });
    }
    const snapshot = await snapshotCohort(tx, filter, build.version);
    const stages = await stagesOf(tx, id);
    const assigned = assignStages(id, snapshot.deviceIds, stages.map((s) => s.percent));
    const inserted = await insertCampaignDeployments(tx, {
      campaignId: id,
      buildId: build.id,
      packageFor: packageChooser(packages),
      deviceIds: snapshot.deviceIds,
      firmwareVersions: snapshot.firmwareVersions,
      stages: assigned,
      idPrefix: `${now.toString(36).padStart(9, '0')}${randomBytes(4).toString('hex')}`,
      createdBy: principal.personId,
      now,
    });
    const sizes = new Array<number>(stages.length).fill(0);
    for (const stage of assigned) sizes[stage] = (sizes[stage] ?? 0) + 1;
    for (const [i, stage] of stages.entries()) {
      stage.size = sizes[i] ?? 0;
      await updateStage(tx, id, i, { size: stage.size });
    }
    await updateCampaign(tx, id, { state: 'running', startedAt: now, updatedAt: now, cohortSize: inserted, alreadyCurrent: snapshot.alreadyCurrent, busy: snapshot.busy, joinScanAt: now });
    campaign.state = 'running';
    await recordAudit(tx, { ...auditActor(principal), action: 'campaign.start', subject: id, details: { by: principal.name, reason: reason ?? null, deployments: inserted, alreadyCurrent: snapshot.alreadyCurrent, busy: snapshot.busy, stageSizes: sizes } }, now);
    await takeStep(tx, by, campaign, stages, firstStep(stages), now);
    return { deployments: inserted, alreadyCurrent: snapshot.alreadyCurrent, busy: snapshot.busy };
  });
  // An empty first stage finishes at once, a campaign with no devices completes: when the
  // engine looks, outside this request.
  ctx.signals.emit({ kind: 'campaign-moved', campaignId: id });
  return result;
}
