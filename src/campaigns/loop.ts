// The engine's timers in a running server: the tick (timeouts, soak, dynamic cohorts), the
// Package 0 sender, which drains the queue at the configured rate once a second, and the
// spacing of evaluations after device results.
import type { Context } from '../context.ts';
import { evaluateCampaign, scheduleNextChunks, tickCampaigns } from './engine.ts';
import { sendQueuedNotifications } from './notifications.ts';

export interface CampaignLoop {
  stop(): Promise<void>;
}

export function startCampaignLoop(ctx: Context): CampaignLoop {
  const evaluations = spacedEvaluations(ctx, ctx.config.campaigns.evaluateEveryMs);
  spacing.set(ctx, evaluations.request);
  const tick = setInterval(() => tickCampaigns(ctx), ctx.config.campaigns.tickMs);
  // A big stage is scheduled a chunk at a time; between chunks DM sessions and API calls run.
  const fill = setInterval(() => {
    try {
      scheduleNextChunks(ctx);
    } catch (err) {
      ctx.log.error({ err }, 'scheduling a stage failed');
    }
  }, 200);
  fill.unref();
  let sending: Promise<unknown> = Promise.resolve();
  let busy = false;
  const notify = setInterval(() => {
    if (busy) return; // a slow webhook round must not pile up rounds
    busy = true;
    sending = sendQueuedNotifications(ctx, ctx.config.campaigns.notifyPerSecond)
      .catch((err: unknown) => ctx.log.error({ err }, 'campaign notifications failed'))
      .finally(() => {
        busy = false;
      });
  }, 1000);
  tick.unref();
  notify.unref();
  return {
    async stop() {
      spacing.delete(ctx);
      evaluations.stop();
      clearInterval(tick);
      clearInterval(fill);
      clearInterval(notify);
      await sending;
    },
  };
}

/** The running server's spacing of evaluations, per context (none: evaluate at once). */
const spacing = new WeakMap<Context, (campaignId: string) => void>();

/** A deployment of this campaign moved: its engine looks again, now or shortly. */
export function campaignMoved(ctx: Context, campaignId: string): void {
  const request = spacing.get(ctx);
  if (request) request(campaignId);
  else evaluateCampaign(ctx, campaignId);
}

/**
 * An evaluation counts the current stage's deployments, which for a stage of 500,000
 * devices takes 50-200 ms: after every device result that would cap a busy campaign at a
 * few results per second. So a campaign is evaluated at once when its last evaluation is
 * older than `everyMs`, else once at the end of that interval: no result waits longer.
 */
function spacedEvaluations(ctx: Context, everyMs: number): { request: (campaignId: string) => void; stop: () => void } {
  const last = new Map<string, number>();
  const pending = new Map<string, NodeJS.Timeout>();
  const run = (campaignId: string) => {
    last.set(campaignId, performance.now());
    evaluateCampaign(ctx, campaignId);
  };
  return {
    request(campaignId) {
      if (everyMs <= 0) return evaluateCampaign(ctx, campaignId);
      if (pending.has(campaignId)) return;
      const since = performance.now() - (last.get(campaignId) ?? Number.NEGATIVE_INFINITY);
      if (since >= everyMs) return run(campaignId);
      const timer = setTimeout(() => {
        pending.delete(campaignId);
        run(campaignId);
      }, everyMs - since);
      timer.unref();
      pending.set(campaignId, timer);
    },
    stop() {
      for (const timer of pending.values()) clearTimeout(timer);
      pending.clear();
    },
  };
}
