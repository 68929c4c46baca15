// What an operator does to a running campaign: approve the stage that waits for it, pause,
// resume, abort. Each checks the state it acts on (409 otherwise) and records who and when.
// Four eyes: when the campaign asks for it, the approver must not be the person who
// created it (with whichever of their tokens); people are told apart by id, not by name.
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { type CampaignRow, findCampaign, type StageRow, stagesOf, updateCampaign, updateStage } from '../store/queries/campaigns.ts';
import type { Tx } from '../store/store.ts';
import { auditActor, type Principal } from '../tokens/tokens.ts';
import { beginStage, cancelAbortedRest, cancelChunk, evaluateCampaignIn, pacedCancel, stageCounts, stepBy } from './engine.ts';
import { type RecordedOverride, RESUME_ACTION } from './overrides.ts';
import { ENGINE_ACTOR, settledShort, stageFigures } from './policy.ts';

/**
 * Why `principal` may not approve this campaign's stages, or null when they may. The one
 * home of the four-eyes rule: the approve action enforces it and the console hides the
 * button by it. It compares people: one person's two tokens are one pair of eyes.
 */
export function approvalRefusal(campaign: Pick<CampaignRow, 'id' | 'fourEyes' | 'createdBy' | 'createdByName'>, principal: Principal): string | null {
  if (!campaign.fourEyes) return null;
  if (principal.personId !== campaign.createdBy) return null;
  return `campaign ${campaign.id} requires four eyes: ${campaign.createdByName} created it, so someone else must approve`;
}

/** Whether `principal` may approve the campaign's stages (the console shows Approve only then). */
export async function mayApprove(ctx: Context, principal: Principal, id: string): Promise<boolean> {
  const campaign = await findCampaign(ctx.db, id);
  return campaign !== undefined && approvalRefusal(campaign, principal) === null;
}

/** The campaign, locked for the action that decides on its state, and its stages. */
async function load(tx: Tx, id: string): Promise<{ campaign: CampaignRow; stages: StageRow[] }> {
  const campaign = await findCampaign(tx, id, { forUpdate: true });
  if (!campaign) throw new AppError('NOT_FOUND', `no campaign ${id}`);
  return { campaign, stages: await stagesOf(tx, id) };
}

export async function approveStage(ctx: Context, principal: Principal, id: string, reason?: string): Promise<void> {
  const now = ctx.clock.now();
  const by = stepBy(ctx, principal.personId);
  await ctx.db.transaction(async (tx) => {
    const { campaign, stages } = await load(tx, id);
    const stage = stages[campaign.currentStage];
    if (campaign.state !== 'running' || !stage || stage.state !== 'awaitingApproval') {
      const what = campaign.state === 'running' && stage ? `stage ${stage.index + 1} is ${stage.state}` : `the campaign is ${campaign.state}`;
      throw new AppError('CONFLICT', `campaign ${id} has no stage awaiting approval: ${what}`);
    }
    if (approvalRefusal(campaign, principal)) {
      throw new AppError('FORBIDDEN', `campaign ${id} requires four eyes: stage ${stage.index + 1} is awaiting approval by someone other than ${campaign.createdByName}, who created it`);
    }
    await updateStage(tx, id, stage.index, { approvedBy: principal.personId, approvedByName: principal.name, approvedAt: now });
    await recordAudit(tx, { ...auditActor(principal), action: 'campaign.approve', subject: id, details: { by: principal.name, stage: stage.index + 1, reason: reason ?? null } }, now);
    await beginStage(tx, by, campaign, stage, now);
  });
  ctx.signals.emit({ kind: 'campaign-moved', campaignId: id });
}

export async function pauseCampaign(ctx: Context, principal: Principal, id: string, reason?: string): Promise<void> {
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    const { campaign } = await load(tx, id);
    if (campaign.state !== 'running') throw new AppError('CONFLICT', `campaign ${id} is ${campaign.state}; only a running campaign can be paused`);
    const why = `paused by ${principal.name}${reason ? `: ${reason}` : ''}`;
    await updateCampaign(tx, id, { state: 'paused', pausedReason: why, pauseKind: 'operator', updatedAt: now });
    await recordAudit(tx, { ...auditActor(principal), action: 'campaign.pause', subject: id, details: { by: principal.name, reason: reason ?? null } }, now);
  });
}

/**
 * Resuming after an automatic pause means the operator has seen the stage as it is: its
 * failures so far are accepted (the failure threshold then judges only results that come
 * after), and if every device of the stage has finished short of the success threshold,
 * the stage moves on. Whatever follows (the next stage, its approval gate, the end) is
 * applied before the answer, so one resume is enough. Each override is recorded with who,
 * why and the figures, and the stage shows it.
 */
export async function resumeCampaign(ctx: Context, principal: Principal, id: string, reason?: string): Promise<void> {
  const now = ctx.clock.now();
  // What follows the resume is the engine's doing, recorded as such.
  const engine = stepBy(ctx, ENGINE_ACTOR);
  await ctx.db.transaction(async (tx) => {
    const { campaign, stages } = await load(tx, id);
    if (campaign.state !== 'paused') throw new AppError('CONFLICT', `campaign ${id} is ${campaign.state}; only a paused campaign can be resumed`);
    const stage = stages[campaign.currentStage];
    const overrides: RecordedOverride[] = [];
    if (stage?.state === 'running' && (campaign.pauseKind === 'failures' || campaign.pauseKind === 'below-success')) {
      const counts = await stageCounts(tx, id, stage.index);
      const figures = { stage: stage.index, succeeded: counts.succeeded, failed: counts.failed, total: stageFigures(counts).total };
      if (counts.failed > stage.acceptedFailed) {
        await updateStage(tx, id, stage.index, { acceptedFailed: counts.failed, acceptedResults: counts.failed + counts.succeeded });
        overrides.push({ kind: 'accepted-failures', ...figures });
      }
      if (!stage.forced && settledShort(counts, campaign.successThreshold)) {
        await updateStage(tx, id, stage.index, { forced: true });
        overrides.push({ kind: 'moved-on', ...figures });
      }
    }
    await updateCampaign(tx, id, { state: 'running', pausedReason: null, pauseKind: null, updatedAt: now });
    await recordAudit(tx, { ...auditActor(principal), action: RESUME_ACTION, subject: id, details: { by: principal.name, reason: reason ?? null, after: campaign.pausedReason, overrides } }, now);
    await evaluateCampaignIn(tx, engine, id, now);
  });
  ctx.signals.emit({ kind: 'campaign-moved', campaignId: id });
}

/**
 * Pending and scheduled deployments are canceled; devices already working finish and report.
 * The first chunk is canceled with the abort, the rest a chunk per transaction after it (a
 * process dying meanwhile leaves them to the campaign tick).
 */
export async function abortCampaign(ctx: Context, principal: Principal, id: string, reason?: string): Promise<{ canceled: number }> {
  const now = ctx.clock.now();
  const cause = `campaign aborted by ${principal.name}`;
  const first = await pacedCancel(ctx, async (tx, limit) => {
    const { campaign } = await load(tx, id);
    if (campaign.state === 'completed' || campaign.state === 'aborted') throw new AppError('CONFLICT', `campaign ${id} is already ${campaign.state}`);
    await updateCampaign(tx, id, { state: 'aborted', finishedAt: now, updatedAt: now, pauseKind: null, pausedReason: reason ? `aborted by ${principal.name}: ${reason}` : `aborted by ${principal.name}` });
    const chunk = await cancelChunk(tx, id, now, cause, limit);
    await recordAudit(tx, { ...auditActor(principal), action: 'campaign.abort', subject: id, details: { by: principal.name, reason: reason ?? null, canceledAtOnce: chunk.canceled } }, now);
    return chunk;
  });
  return { canceled: first.done ? first.canceled : first.canceled + (await cancelAbortedRest(ctx, id, cause)) };
}
