// What an operator does to a running campaign: approve the stage that waits for it, pause,
// resume, abort. Each checks the state it acts on (409 otherwise) and records who and when.
// Four eyes: when the campaign asks for it, the approver must not be its creator.
import { IMMEDIATE } from '../store/db.ts';
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { recordAudit, type Tx } from '../store/queries/audit.ts';
import { type CampaignRow, cancelUnstarted, findCampaign, type StageRow, stagesOf, updateCampaign, updateStage } from '../store/queries/campaigns.ts';
import type { Principal } from '../tokens/tokens.ts';
import { beginStage, stageCounts, stepBy } from './engine.ts';

function load(tx: Tx, id: string): { campaign: CampaignRow; stages: StageRow[] } {
  const campaign = findCampaign(tx, id);
  if (!campaign) throw new AppError('NOT_FOUND', `no campaign ${id}`);
  return { campaign, stages: stagesOf(tx, id) };
}

export function approveStage(ctx: Context, principal: Principal, id: string, reason?: string): void {
  const now = ctx.clock.now();
  const by = stepBy(ctx, principal.tokenId);
  ctx.db.transaction((tx) => {
    const { campaign, stages } = load(tx, id);
    const stage = stages[campaign.currentStage];
    if (campaign.state !== 'running' || !stage || stage.state !== 'awaitingApproval') {
      const what = campaign.state === 'running' && stage ? `stage ${stage.index + 1} is ${stage.state}` : `the campaign is ${campaign.state}`;
      throw new AppError('CONFLICT', `campaign ${id} has no stage awaiting approval: ${what}`);
    }
    if (campaign.fourEyes && (principal.tokenId === campaign.createdBy || principal.name === campaign.createdByName)) {
      throw new AppError('FORBIDDEN', `campaign ${id} requires four eyes: ${campaign.createdByName} created it, so someone else must approve stage ${stage.index + 1}`);
    }
    updateStage(tx, id, stage.index, { approvedBy: principal.tokenId, approvedByName: principal.name, approvedAt: now });
    recordAudit(tx, { actor: principal.tokenId, action: 'campaign.approve', subject: id, details: { by: principal.name, stage: stage.index + 1, reason: reason ?? null } }, now);
    beginStage(tx, by, campaign, stage, now);
  }, IMMEDIATE);
  ctx.signals.emit({ kind: 'campaign-moved', campaignId: id });
}

export function pauseCampaign(ctx: Context, principal: Principal, id: string, reason?: string): void {
  const now = ctx.clock.now();
  ctx.db.transaction((tx) => {
    const { campaign } = load(tx, id);
    if (campaign.state !== 'running') throw new AppError('CONFLICT', `campaign ${id} is ${campaign.state}; only a running campaign can be paused`);
    const why = `paused by ${principal.name}${reason ? `: ${reason}` : ''}`;
    updateCampaign(tx, id, { state: 'paused', pausedReason: why, pauseKind: 'operator', updatedAt: now });
    recordAudit(tx, { actor: principal.tokenId, action: 'campaign.pause', subject: id, details: { by: principal.name, reason: reason ?? null } }, now);
  }, IMMEDIATE);
}

/**
 * Resuming after an automatic pause means the operator has seen the failures: the
 * failure threshold then judges only results that come after, and a stage that settled
 * below its success threshold is let through.
 */
export function resumeCampaign(ctx: Context, principal: Principal, id: string, reason?: string): void {
  const now = ctx.clock.now();
  ctx.db.transaction((tx) => {
    const { campaign, stages } = load(tx, id);
    if (campaign.state !== 'paused') throw new AppError('CONFLICT', `campaign ${id} is ${campaign.state}; only a paused campaign can be resumed`);
    const stage = stages[campaign.currentStage];
    if (stage && campaign.pauseKind === 'failures') {
      const counts = stageCounts(tx, id, stage.index);
      updateStage(tx, id, stage.index, { acceptedFailed: counts.failed, acceptedResults: counts.failed + counts.succeeded });
    }
    if (stage && campaign.pauseKind === 'below-success') updateStage(tx, id, stage.index, { forced: true });
    updateCampaign(tx, id, { state: 'running', pausedReason: null, pauseKind: null, updatedAt: now });
    recordAudit(tx, { actor: principal.tokenId, action: 'campaign.resume', subject: id, details: { by: principal.name, reason: reason ?? null, after: campaign.pausedReason } }, now);
  }, IMMEDIATE);
  ctx.signals.emit({ kind: 'campaign-moved', campaignId: id });
}

/** Pending and scheduled deployments are canceled; devices already working finish and report. */
export function abortCampaign(ctx: Context, principal: Principal, id: string, reason?: string): { canceled: number } {
  const now = ctx.clock.now();
  return ctx.db.transaction((tx) => {
    const { campaign } = load(tx, id);
    if (campaign.state === 'completed' || campaign.state === 'aborted') throw new AppError('CONFLICT', `campaign ${id} is already ${campaign.state}`);
    const canceled = cancelUnstarted(tx, id, now, `campaign aborted by ${principal.name}`);
    updateCampaign(tx, id, { state: 'aborted', finishedAt: now, updatedAt: now, pauseKind: null, pausedReason: reason ? `aborted by ${principal.name}: ${reason}` : `aborted by ${principal.name}` });
    recordAudit(tx, { actor: principal.tokenId, action: 'campaign.abort', subject: id, details: { by: principal.name, reason: reason ?? null, canceled } }, now);
    return { canceled };
  }, IMMEDIATE);
}
