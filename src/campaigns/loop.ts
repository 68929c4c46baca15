// The engine's timers in a running server: the tick (timeouts, soak, dynamic cohorts), the
// Package 0 sender, which drains the queue at the configured rate once a second, the
// spacing of evaluations after device results, and the prompt join of devices just seen.
// start.ts connects the context's signals to `moved` and `seen`; requests only signal, so
// no evaluation or join ever runs inside the request that caused it.
import type { Context } from '../context.ts';
import { evaluateCampaign, scheduleNextChunks, tickCampaigns } from './engine.ts';
import { joinSeenDevices } from './join.ts';
import { sendQueuedNotifications } from './notifications.ts';

export interface CampaignLoop {
  /** A deployment of this campaign moved, or an operator acted: its engine looks again, soon. */
  moved(campaignId: string): void;
  /** A device completed a DM message: it joins a running dynamic campaign it now matches. */
  seen(deviceId: string): void;
  /** Resolves once no evaluation or join is waiting to run: what was signalled so far is done. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export function startCampaignLoop(ctx: Context): CampaignLoop {
  const waiters: Array<() => void> = [];
  const isIdle = () => evaluations.waiting() === 0 && joins.waiting() === 0;
  const ran = () => {
    if (isIdle()) for (const resolve of waiters.splice(0)) resolve();
  };
  const evaluations = spacedEvaluations(ctx, ctx.config.campaigns.evaluateEveryMs, ran);
  const joins = batchedJoins(ctx, evaluations.request, ran);
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
    moved: evaluations.request,
    seen: joins.request,
    idle: () => (isIdle() ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
    async stop() {
      joins.stop();
      evaluations.stop();
      ran();
      clearInterval(tick);
      clearInterval(fill);
      clearInterval(notify);
      await sending;
    },
  };
}

/** Work asked for now and done later; `waiting` counts what has not run yet. */
interface Worker<T> {
  request(key: T): void;
  waiting(): number;
  stop(): void;
}

/** A timer or an immediate, either of which can be called off. */
type Scheduled = () => void;

function later(ms: number, fn: () => void): Scheduled {
  if (ms <= 0) {
    const immediate = setImmediate(fn);
    immediate.unref();
    return () => clearImmediate(immediate);
  }
  const timer = setTimeout(fn, ms);
  timer.unref();
  return () => clearTimeout(timer);
}

/**
 * An evaluation counts the current stage's deployments, which for a stage of 500,000
 * devices takes 50-200 ms: after every device result that would cap a busy campaign at a
 * few results per second. So a campaign is evaluated on the next turn of the event loop
 * when its last evaluation is older than `everyMs`, else once at the end of that interval:
 * no result waits longer. Requests that come while one is pending share it.
 */
function spacedEvaluations(ctx: Context, everyMs: number, ran: () => void): Worker<string> {
  const last = new Map<string, number>();
  const pending = new Map<string, Scheduled>();
  return {
    request(campaignId) {
      if (pending.has(campaignId)) return;
      const since = performance.now() - (last.get(campaignId) ?? Number.NEGATIVE_INFINITY);
      const cancel = later(everyMs - since, () => {
        pending.delete(campaignId);
        last.set(campaignId, performance.now());
        evaluateCampaign(ctx, campaignId);
        ran();
      });
      pending.set(campaignId, cancel);
    },
    waiting: () => pending.size,
    stop() {
      for (const cancel of pending.values()) cancel();
      pending.clear();
    },
  };
}

/**
 * Devices seen during one turn of the event loop are checked together on the next, so a
 * burst of DM messages costs one look at the running dynamic campaigns, not one each.
 */
function batchedJoins(ctx: Context, evaluate: (campaignId: string) => void, ran: () => void): Worker<string> {
  let seen = new Set<string>();
  let cancel: Scheduled | undefined;
  const run = () => {
    cancel = undefined;
    const deviceIds = [...seen];
    seen = new Set();
    try {
      // A joiner changes its stage's size, which the engine judges the stage by.
      for (const campaignId of joinSeenDevices(ctx, deviceIds, ctx.clock.now())) evaluate(campaignId);
    } catch (err) {
      // The device joins at the next scan instead; nothing is lost.
      ctx.log.error({ err }, 'joining seen devices to dynamic campaigns failed');
    }
    ran();
  };
  return {
    request(deviceId) {
      seen.add(deviceId);
      cancel ??= later(0, run);
    },
    waiting: () => seen.size,
    stop() {
      cancel?.();
      cancel = undefined;
      seen.clear();
    },
  };
}
