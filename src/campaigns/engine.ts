// The campaign engine: applies policy.ts to the database. It runs soon after every
// deployment result of a campaign (signalled by the DM session, run by loop.ts outside the
// request) and on a periodic tick (timeouts, soak times, dynamic cohorts, aborted
// leftovers). Each evaluation is one short transaction that first locks the campaign
// (findCampaign forUpdate; on SQLite the transaction's write lock), so two server
// processes evaluating the same campaign take turns and the second one sees what the
// first decided.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Context } from '../context.ts';
import { transition } from '../deployments/deployments.ts';
import { recordAudit } from '../store/queries/audit.ts';
import type { Tx } from '../store/store.ts';
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
import { ChunkPace } from './chunk-pace.ts';


/**
 * Deployments the first chunk of a stage's scheduling takes; later chunks take what fits
 * in PACE_MS at the rate measured (chunk-pace.ts). A row's cost varies several times over:
 * a small stage's rows are spread over the whole table (stages are drawn by hash), so its
 * chunk touches up to a page per row, ~30 us each (5,000 took 170 ms of CPU in their
 * UPDATE alone), and its COMMIT writes those pages.
 */
export const SCHEDULE_CHUNK = 500;

/**
 * One pace for every stage's scheduling in this process: the rate carries from one chunk to
 * the next. At most 2,000: on PostgreSQL a DM session of a device in the chunk waits for
 * its COMMIT (the rows are locked), however little of this process's CPU the chunk takes.
 */
const schedulePace = new ChunkPace({ first: SCHEDULE_CHUNK, min: 100, max: 2_000 });

/**
 * One chunk of a started stage's scheduling in a transaction of its own, timed for the
 * next chunk's size; how many deployments were scheduled (0: the stage is fully scheduled).
 */
export async function scheduleChunk(ctx: Context, campaignId: string, stage: number): Promise<number> {
  return schedulePace.inTransaction(
    ctx.db,
    (tx, limit) => scheduleStage(tx, campaignId, stage, ctx.clock.now(), Boolean(ctx.config.dm.notifyWebhook), limit),
    (scheduled) => scheduled,
  );
}

/**
 * Deployments an abort cancels per transaction: as many as fit in PACE_MS at the rate the
 * last chunk measured (chunk-pace.ts), like a start's and a stage's chunks, starting from
 * CANCEL_FIRST. A canceled row costs about what a scheduled one does (an UPDATE with its
 * history entry, spread over the table for a small stage): 5,000 at a time held the event
 * loop for 0.1-0.2 s a chunk. At most 5,000: on PostgreSQL a DM session of a device in the
 * chunk waits for its COMMIT.
 */
export const CANCEL_FIRST = 500;
const cancelPace = new ChunkPace({ first: CANCEL_FIRST, min: 100, max: 5_000 });

/**
 * One chunk (up to `limit`) of an aborted campaign's unstarted deployments canceled in the
 * caller's transaction; `done` once fewer than a chunk were left.
 */
export async function cancelChunk(tx: Tx, campaignId: string, now: number, cause: string, limit: number): Promise<{ canceled: number; done: boolean }> {
  const canceled = await cancelUnstarted(tx, campaignId, now, cause, limit);
  return { canceled, done: canceled < limit };
}

/** A transaction whose work cancels one chunk of the size the abort's pace gives. */
export function pacedCancel<T extends { canceled: number }>(ctx: Context, work: (tx: Tx, limit: number) => Promise<T>): Promise<T> {
  return cancelPace.inTransaction(ctx.db, work, (result) => result.canceled);
}

/**
 * The rest of an aborted campaign's unstarted deployments canceled, a chunk per
 * transaction with the event loop free between them; returns how many.
 */
export async function cancelAbortedRest(ctx: Context, campaignId: string, cause: string): Promise<number> {
  let canceled = 0;
  for (;;) {
    const chunk = await pacedCancel(ctx, async (tx, limit) =>
      (await findCampaign(tx, campaignId, { forUpdate: true }))?.state === 'aborted' ? cancelChunk(tx, campaignId, ctx.clock.now(), cause, limit) : { canceled: 0, done: true },
    );
    canceled += chunk.canceled;
    if (chunk.done) return canceled;
    await nextTurn();
  }
}

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

export async function stageCounts(tx: Tx, campaignId: string, stage: number): Promise<StageCounts> {
  const counts = emptyCounts();
  for (const row of await countsByStage(tx, campaignId, stage)) if (row.state in counts) counts[row.state as CountedState] = row.n;
  return counts;
}

/** Re-reads the campaign and applies every decision that follows from its current counts. */
export async function evaluateCampaign(ctx: Context, campaignId: string): Promise<void> {
  const by = stepBy(ctx, ENGINE_ACTOR);
  try {
    // The time is read once the write lock is held, as the decisions it dates are.
    await ctx.db.transaction((tx) => evaluateCampaignIn(tx, by, campaignId, ctx.clock.now()));
  } catch (err) {
    // It runs from timers (the loop, the tick): an error there must not stop the server; the tick tries again.
    ctx.log.error({ err, campaignId }, 'campaign evaluation failed');
  }
}

/** The same in the caller's transaction: a resume applies what follows from it before it answers. */
export async function evaluateCampaignIn(tx: Tx, by: StepBy, campaignId: string, now: number): Promise<void> {
  const campaign = await findCampaign(tx, campaignId, { forUpdate: true });
  if (!campaign) return;
  if (campaign.state === 'aborted') {
    // Retries that came back after the abort (transient failures) are canceled too, and
    // what an abort cut short is finished (cancelAbortedRest goes on from here).
    await cancelChunk(tx, campaignId, now, 'campaign aborted', cancelPace.size);
    return;
  }
  if (campaign.state !== 'running') return;
  const stages = await stagesOf(tx, campaignId);
  // Each pass may finish a stage and start the next (an empty stage finishes at once).
  for (let guard = 0; guard <= stages.length; guard++) {
    const stage = stages[campaign.currentStage];
    if (!stage || stage.state !== 'running') return;
    const decision = decideStage(
      {
        index: stage.index,
        counts: await stageCounts(tx, campaignId, stage.index),
        acceptedFailed: stage.acceptedFailed,
        acceptedResults: stage.acceptedResults,
        forced: stage.forced,
        thresholdMetAt: stage.thresholdMetAt,
        last: stage.index === stages.length - 1,
        ...(await topFailureOf(tx, campaignId, stage.index)),
      },
      { successThreshold: campaign.successThreshold, failureThreshold: campaign.failureThreshold, minSample: campaign.minSample, soakMs: campaign.soakMs },
      now,
    );
    switch (decision.kind) {
      case 'wait':
        return;
      case 'pause':
        await updateCampaign(tx, campaignId, { state: 'paused', pausedReason: decision.reason, pauseKind: decision.pauseKind, updatedAt: now });
        await recordAudit(tx, { actor: by.actor, action: 'campaign.pause', subject: campaignId, details: { reason: decision.reason, kind: decision.pauseKind } }, now);
        by.log.warn({ campaignId, reason: decision.reason }, 'campaign paused itself');
        return;
      case 'thresholdMet':
        await updateStage(tx, campaignId, stage.index, { thresholdMetAt: now });
        stage.thresholdMetAt = now;
        continue;
      case 'advance': {
        await updateStage(tx, campaignId, stage.index, { state: 'done' });
        stage.state = 'done';
        await recordAudit(tx, { actor: by.actor, action: 'campaign.stage.done', subject: campaignId, details: { stage: stage.index + 1 } }, now);
        const step = nextStep(stages, stage.index);
        await takeStep(tx, by, campaign, stages, step, now);
        if (step.kind !== 'start') return;
        continue;
      }
    }
  }
}

async function topFailureOf(tx: Tx, campaignId: string, stage: number): Promise<{ topFailure?: { code: string; count: number } }> {
  const [top] = await failuresByStage(tx, campaignId, stage);
  return top ? { topFailure: { code: top.code === null ? 'timeout' : String(top.code), count: top.n } } : {};
}

/** Starts a stage, puts it before an approver, or completes the campaign (in the caller's transaction). */
export async function takeStep(tx: Tx, by: StepBy, campaign: CampaignRow, stages: StageRow[], step: NextStep, now: number): Promise<void> {
  if (step.kind === 'complete') {
    await updateCampaign(tx, campaign.id, { state: 'completed', finishedAt: now, updatedAt: now });
    campaign.state = 'completed';
    await recordAudit(tx, { actor: by.actor, action: 'campaign.complete', subject: campaign.id }, now);
    by.log.info({ campaignId: campaign.id }, 'campaign completed');
    return;
  }
  const stage = stages[step.index];
  if (!stage) return;
  await updateCampaign(tx, campaign.id, { currentStage: step.index, updatedAt: now });
  campaign.currentStage = step.index;
  if (step.kind === 'awaitApproval') {
    await updateStage(tx, campaign.id, step.index, { state: 'awaitingApproval' });
    stage.state = 'awaitingApproval';
    await recordAudit(tx, { actor: by.actor, action: 'campaign.stage.awaiting-approval', subject: campaign.id, details: { stage: step.index + 1 } }, now);
    return;
  }
  await beginStage(tx, by, campaign, stage, now);
}

/** A stage's pending deployments become scheduled and its devices are queued for Package 0. */
export async function beginStage(tx: Tx, by: StepBy, campaign: CampaignRow, stage: StageRow, now: number): Promise<void> {
  const scheduled = await scheduleStage(tx, campaign.id, stage.index, now, by.notifyEveryDevice, schedulePace.size);
  await updateStage(tx, campaign.id, stage.index, { state: 'running', startedAt: now });
  stage.state = 'running';
  stage.startedAt = now;
  await recordAudit(tx, { actor: by.actor, action: 'campaign.stage.start', subject: campaign.id, details: { stage: stage.index + 1, percent: stage.percent, size: stage.size, scheduledAtOnce: scheduled } }, now);
  by.log.info({ campaignId: campaign.id, stage: stage.index + 1, scheduled }, 'campaign stage started');
}

/**
 * The periodic pass: deployments that went silent past the timeout fail, dynamic cohorts
 * take in new devices, and every running campaign is evaluated (soak times end by the clock).
 */
export async function tickCampaigns(ctx: Context): Promise<void> {
  const now = ctx.clock.now();
  try {
    const silent = await timedOutDeployments(ctx.db, now);
    if (silent.length > 0) {
      await ctx.db.transaction(async (tx) => {
        for (const { id } of silent) {
          // Locked: a DM message of the device may move the same deployment meanwhile.
          const row = await findDeployment(tx, id, { forUpdate: true });
          if (row && ['commanded', 'downloading', 'installing'].includes(row.state)) {
            await transition(tx, row, 'failed', `timeout: no news from the device since ${new Date(row.updatedAt).toISOString()}`, now, { resultCode: null });
          }
        }
      });
    }
    for (const campaign of await campaignsIn(ctx.db, ['running', 'paused', 'aborted'])) {
      if (campaign.state === 'aborted' && (campaign.finishedAt ?? 0) < now - 24 * 3600 * 1000) continue;
      if (campaign.dynamic && campaign.state === 'running') await joinLateDevices(ctx, campaign, now);
      // An abort whose process died before it canceled everything is finished here.
      if (campaign.state === 'aborted') await cancelAbortedRest(ctx, campaign.id, 'campaign aborted');
      else await evaluateCampaign(ctx, campaign.id);
    }
  } catch (err) {
    ctx.log.error({ err }, 'campaign tick failed');
  }
}

/**
 * One more chunk of each running campaign's started stage; returns how many deployments
 * were scheduled (0: every started stage is fully scheduled).
 */
export async function scheduleNextChunks(ctx: Context): Promise<number> {
  let scheduled = 0;
  for (const campaign of await campaignsIn(ctx.db, ['running'])) scheduled += await scheduleNextChunkOf(ctx, campaign);
  return scheduled;
}

/** One more chunk of the campaign's started stage, if it runs; how many were scheduled. */
export async function scheduleNextChunkOf(ctx: Context, campaign: Pick<CampaignRow, 'id' | 'currentStage' | 'state'>): Promise<number> {
  if (campaign.state !== 'running') return 0;
  const stage = (await stagesOf(ctx.db, campaign.id))[campaign.currentStage];
  if (stage?.state !== 'running') return 0;
  return scheduleChunk(ctx, campaign.id, stage.index);
}
