// The campaign engine: applies policy.ts to the database. It runs soon after every
// deployment result of a campaign (signalled by the DM session, run by loop.ts outside the
// request) and on a periodic tick (timeouts, soak times, dynamic cohorts, aborted
// leftovers). Each evaluation is one short synchronous transaction, so two server
// processes evaluating the same campaign serialize on SQLite's write lock and the second
// one sees what the first decided.
import type { Logger } from 'pino';
import { IMMEDIATE } from '../store/db.ts';
import type { Context } from '../context.ts';
import { transition } from '../deployments/deployments.ts';
import { recordAudit, type Tx } from '../store/queries/audit.ts';
import {
  type CampaignRow,
  campaignsIn,
  cancelUnstarted,
  countsByStage,
  failuresByStage,
  findCampaign,
  scheduleStage,
  type StageRow,
  stagesOf,
  timedOutDeployments,
  updateCampaign,
  updateStage,
} from '../store/queries/campaigns.ts';
import { findDeployment } from '../store/queries/deployments.ts';
import { joinLateDevices } from './join.ts';
import { type CountedState, decideStage, emptyCounts, ENGINE_ACTOR, type NextStep, nextStep, type StageCounts } from './policy.ts';


/** Deployments a stage schedules per transaction (about 0.4 s of work on this machine). */
export const SCHEDULE_CHUNK = 20_000;

/**
 * Who takes a step and what it needs from the context, read before the transaction begins:
 * code inside a transaction gets its tx and these values, never the context (CONVENTIONS 12).
 */
export interface StepBy {
  actor: string;
  log: Logger;
  /** A global webhook reaches every device, so a started stage queues Package 0 for all. */
  notifyEveryDevice: boolean;
}

export function stepBy(ctx: Context, actor: string): StepBy {
  return { actor, log: ctx.log, notifyEveryDevice: Boolean(ctx.config.dm.notifyWebhook) };
}

export function stageCounts(tx: Tx, campaignId: string, stage: number): StageCounts {
  const counts = emptyCounts();
  for (const row of countsByStage(tx, campaignId, stage)) if (row.state in counts) counts[row.state as CountedState] = row.n;
  return counts;
}

/** Re-reads the campaign and applies every decision that follows from its current counts. */
export function evaluateCampaign(ctx: Context, campaignId: string): void {
  const by = stepBy(ctx, ENGINE_ACTOR);
  try {
    // The time is read once the write lock is held, as the decisions it dates are.
    ctx.db.transaction((tx) => evaluateIn(tx, by, campaignId, ctx.clock.now()), IMMEDIATE);
  } catch (err) {
    // It runs from timers (the loop, the tick): an error there must not stop the server; the tick tries again.
    ctx.log.error({ err, campaignId }, 'campaign evaluation failed');
  }
}

function evaluateIn(tx: Tx, by: StepBy, campaignId: string, now: number): void {
  const campaign = findCampaign(tx, campaignId);
  if (!campaign) return;
  if (campaign.state === 'aborted') {
    // Retries that came back after the abort (transient failures) are canceled too.
    cancelUnstarted(tx, campaignId, now, 'campaign aborted');
    return;
  }
  if (campaign.state !== 'running') return;
  const stages = stagesOf(tx, campaignId);
  // Each pass may finish a stage and start the next (an empty stage finishes at once).
  for (let guard = 0; guard <= stages.length; guard++) {
    const stage = stages[campaign.currentStage];
    if (!stage || stage.state !== 'running') return;
    const decision = decideStage(
      {
        index: stage.index,
        counts: stageCounts(tx, campaignId, stage.index),
        acceptedFailed: stage.acceptedFailed,
        acceptedResults: stage.acceptedResults,
        forced: stage.forced,
        thresholdMetAt: stage.thresholdMetAt,
        last: stage.index === stages.length - 1,
        ...topFailureOf(tx, campaignId, stage.index),
      },
      { successThreshold: campaign.successThreshold, failureThreshold: campaign.failureThreshold, minSample: campaign.minSample, soakMs: campaign.soakMs },
      now,
    );
    switch (decision.kind) {
      case 'wait':
        return;
      case 'pause':
        updateCampaign(tx, campaignId, { state: 'paused', pausedReason: decision.reason, pauseKind: decision.pauseKind, updatedAt: now });
        recordAudit(tx, { actor: by.actor, action: 'campaign.pause', subject: campaignId, details: { reason: decision.reason, kind: decision.pauseKind } }, now);
        by.log.warn({ campaignId, reason: decision.reason }, 'campaign paused itself');
        return;
      case 'thresholdMet':
        updateStage(tx, campaignId, stage.index, { thresholdMetAt: now });
        stage.thresholdMetAt = now;
        continue;
      case 'advance': {
        updateStage(tx, campaignId, stage.index, { state: 'done' });
        stage.state = 'done';
        recordAudit(tx, { actor: by.actor, action: 'campaign.stage.done', subject: campaignId, details: { stage: stage.index + 1 } }, now);
        const step = nextStep(stages, stage.index);
        takeStep(tx, by, campaign, stages, step, now);
        if (step.kind !== 'start') return;
        continue;
      }
    }
  }
}

function topFailureOf(tx: Tx, campaignId: string, stage: number): { topFailure?: { code: string; count: number } } {
  const top = failuresByStage(tx, campaignId, stage)[0];
  return top ? { topFailure: { code: top.code === null ? 'timeout' : String(top.code), count: top.n } } : {};
}

/** Starts a stage, puts it before an approver, or completes the campaign (in the caller's transaction). */
export function takeStep(tx: Tx, by: StepBy, campaign: CampaignRow, stages: StageRow[], step: NextStep, now: number): void {
  if (step.kind === 'complete') {
    updateCampaign(tx, campaign.id, { state: 'completed', finishedAt: now, updatedAt: now });
    campaign.state = 'completed';
    recordAudit(tx, { actor: by.actor, action: 'campaign.complete', subject: campaign.id }, now);
    by.log.info({ campaignId: campaign.id }, 'campaign completed');
    return;
  }
  const stage = stages[step.index];
  if (!stage) return;
  updateCampaign(tx, campaign.id, { currentStage: step.index, updatedAt: now });
  campaign.currentStage = step.index;
  if (step.kind === 'awaitApproval') {
    updateStage(tx, campaign.id, step.index, { state: 'awaitingApproval' });
    stage.state = 'awaitingApproval';
    recordAudit(tx, { actor: by.actor, action: 'campaign.stage.awaiting-approval', subject: campaign.id, details: { stage: step.index + 1 } }, now);
    return;
  }
  beginStage(tx, by, campaign, stage, now);
}

/** A stage's pending deployments become scheduled and its devices are queued for Package 0. */
export function beginStage(tx: Tx, by: StepBy, campaign: CampaignRow, stage: StageRow, now: number): void {
  const scheduled = scheduleStage(tx, campaign.id, stage.index, now, by.notifyEveryDevice, SCHEDULE_CHUNK);
  updateStage(tx, campaign.id, stage.index, { state: 'running', startedAt: now });
  stage.state = 'running';
  stage.startedAt = now;
  recordAudit(tx, { actor: by.actor, action: 'campaign.stage.start', subject: campaign.id, details: { stage: stage.index + 1, percent: stage.percent, size: stage.size, scheduledAtOnce: scheduled } }, now);
  by.log.info({ campaignId: campaign.id, stage: stage.index + 1, scheduled }, 'campaign stage started');
}

/**
 * The periodic pass: deployments that went silent past the timeout fail, dynamic cohorts
 * take in new devices, and every running campaign is evaluated (soak times end by the clock).
 */
export function tickCampaigns(ctx: Context): void {
  const now = ctx.clock.now();
  try {
    const silent = timedOutDeployments(ctx.db, now);
    if (silent.length > 0) {
      ctx.db.transaction((tx) => {
        for (const { id } of silent) {
          const row = findDeployment(tx, id);
          if (row && ['commanded', 'downloading', 'installing'].includes(row.state)) {
            transition(tx, row, 'failed', `timeout: no news from the device since ${new Date(row.updatedAt).toISOString()}`, now, { resultCode: null });
          }
        }
      });
    }
    for (const campaign of campaignsIn(ctx.db, ['running', 'paused', 'aborted'])) {
      if (campaign.state === 'aborted' && (campaign.finishedAt ?? 0) < now - 24 * 3600 * 1000) continue;
      if (campaign.dynamic && campaign.state === 'running') joinLateDevices(ctx, campaign, now);
      evaluateCampaign(ctx, campaign.id);
    }
  } catch (err) {
    ctx.log.error({ err }, 'campaign tick failed');
  }
}

/**
 * One more chunk of each running campaign's started stage; returns how many deployments
 * were scheduled (0: every started stage is fully scheduled).
 */
export function scheduleNextChunks(ctx: Context): number {
  let scheduled = 0;
  for (const campaign of campaignsIn(ctx.db, ['running'])) {
    const stage = stagesOf(ctx.db, campaign.id)[campaign.currentStage];
    if (stage?.state !== 'running') continue;
    scheduled += ctx.db.transaction((tx) => scheduleStage(tx, campaign.id, stage.index, ctx.clock.now(), Boolean(ctx.config.dm.notifyWebhook), SCHEDULE_CHUNK), IMMEDIATE);
  }
  return scheduled;
}
