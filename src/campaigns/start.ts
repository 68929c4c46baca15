// Starting a campaign: checked and marked 'starting' in one short transaction, then placed
// a chunk at a time (starting.ts): each cohort device not on the target version and not
// busy with a one-device deployment gets a pending deployment in its stage (those left out
// are counted), then the first stage starts (or waits for approval). No package is chosen
// here: a device gets the one for the firmware it reports when it is commanded. Refused
// with 409 when any cohort device is in another starting, running or paused campaign
// (membership.ts, atomic across processes), and with 422
// when the cohort matches no device at all (the error gives what the filter did match).
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { type CohortFilter, cohortByVersion, cohortHasDevices, findCampaign, stagesOf, updateCampaign, updateStage } from '../store/queries/campaigns.ts';
import type { Tx } from '../store/store.ts';
import { auditActor, type Principal } from '../tokens/tokens.ts';
import { cohortOf, toFilter } from './cohort.ts';
import { checkDeliverable } from './payload.ts';
import { stepBy } from './engine.ts';
import type { CampaignCohort } from './schemas.ts';
import { continueStart } from './starting.ts';
import { assertCohortFree, lockCampaignStarts } from './membership.ts';

export interface StartResult {
  deployments: number;
  alreadyCurrent: number;
  busy: number;
  /** Left out: they run a build of higher securityVersion (security-hold.ts). */
  securityHeld: number;
}

export async function startCampaign(ctx: Context, principal: Principal, id: string, reason?: string): Promise<StartResult> {
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    await lockCampaignStarts(tx);
    const campaign = await findCampaign(tx, id, { forUpdate: true });
    if (!campaign) throw new AppError('NOT_FOUND', `no campaign ${id}`);
    if (campaign.state !== 'draft') throw new AppError('CONFLICT', `campaign ${id} is ${campaign.state}; only a draft can be started`);
    await checkDeliverable(tx, campaign, 'start the campaign');
    const cohort = cohortOf(campaign);
    const filter = toFilter(cohort);
    // A dynamic campaign may start empty: devices join it as they come to match.
    if (!campaign.dynamic && !(await cohortHasDevices(tx, filter))) throw await emptyCohort(tx, cohort);
    await assertCohortFree(tx, id, filter);
    for (const stage of await stagesOf(tx, id)) await updateStage(tx, id, stage.index, { size: 0 });
    await updateCampaign(tx, id, { state: 'starting', startedAt: now, updatedAt: now, cohortSize: 0, alreadyCurrent: 0, busy: 0, securityHeld: 0, startBounds: null, startCursor: null });
    await recordAudit(tx, { ...auditActor(principal), action: 'campaign.start', subject: id, details: { by: principal.name, reason: reason ?? null } }, now);
  });
  // The request waits for the start (its answer gives the counts), but not on the event
  // loop: other requests run between the chunks. Were this process to die meanwhile, the
  // campaign loop (of any process) finishes the start.
  await continueStart(ctx, id, stepBy(ctx, principal.personId));
  const started = await findCampaign(ctx.db, id);
  return { deployments: started?.cohortSize ?? 0, alreadyCurrent: started?.alreadyCurrent ?? 0, busy: started?.busy ?? 0, securityHeld: started?.securityHeld ?? 0 };
}

/**
 * The refusal of a cohort that matches no device, with what each part of the filter
 * matched on its own among the model's devices, so the operator sees which part to change.
 */
async function emptyCohort(tx: Tx, cohort: CampaignCohort & { model: string }): Promise<AppError> {
  const count = async (filter: CohortFilter) => [...(await cohortByVersion(tx, filter)).values()].reduce((a, b) => a + b, 0);
  const { model } = cohort;
  const byVersion = Object.fromEntries(await cohortByVersion(tx, { model }));
  const devicesOfModel = Object.values(byVersion).reduce((a, b) => a + b, 0);
  const matched: Record<string, unknown> = {};
  if (cohort.versions) matched.versions = await count({ model, versions: cohort.versions });
  if (cohort.tags) matched.tags = Object.fromEntries(await Promise.all(cohort.tags.map(async (tag) => [tag, await count({ model, tags: [tag] })] as const)));
  if (cohort.deviceIds) matched.deviceIds = await count({ model, deviceIds: cohort.deviceIds });
  if (cohort.updatedByCampaign) matched.updatedByCampaign = await count({ model, updatedByCampaign: cohort.updatedByCampaign });
  const parts = Object.entries(matched).map(([part, n]) => `${part} ${typeof n === 'number' ? n : JSON.stringify(n)}`);
  return new AppError(
    'CONFLICT',
    `the cohort matches no device: devices of model ${model}: ${devicesOfModel}${parts.length ? `; of those, matched by ${parts.join(', ')}` : ''}. Change the cohort (a dynamic campaign may start empty)`,
    { details: { model, devicesOfModel, byVersion, matched } },
  );
}
