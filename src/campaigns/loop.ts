// The engine's timers in a running server: the tick (timeouts, soak, dynamic cohorts), the
// resumption of starts left unfinished by a process that died, the
// Package 0 sender, which drains the queue at the configured rate once a second, the
// spacing of evaluations after device results, and the prompt join of devices just seen.
// start.ts connects the context's signals to `moved` and `seen`; requests only signal, so
// no evaluation or join ever runs inside the request that caused it.
import type { Context } from '../context.ts';
import { lease } from '../store/lease.ts';
import { evaluateCampaign, scheduleNextChunks, tickCampaigns } from './engine.ts';
import { joinSeenDevices } from './join.ts';
import { sendQueuedNotifications } from './notifications.ts';
import { deliverDueWebhooks } from '../webhooks/deliver.ts';
import { startDueCampaigns } from './schedule.ts';
import { resumeStalledStarts } from './starting.ts';

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
  // What the timers started and has not finished: stop() waits for it, so the database is
  // not closed under it. A failure is logged: it must not stop the server, the next pass
  // tries again.
  const inflight = new Set<Promise<void>>();
  const track: Track = (work, failure) => {
    const settled: Promise<void> = work
      .then(
        () => undefined,
        (err: unknown) => ctx.log.error({ err }, failure),
      )
      .finally(() => inflight.delete(settled));
    inflight.add(settled);
  };
  const evaluations = spacedEvaluations(ctx, ctx.config.campaigns.evaluateEveryMs, ran, track);
  const joins = batchedJoins(ctx, evaluations.request, ran, track);
  // The timed work runs in one process of those sharing the database, the holder of the
  // 'campaigns' lease: so the Package 0 rate holds for the whole cluster, and a timeout is
  // acted on once. Evaluations and joins stay with the process that heard the signal
  // (their transactions lock what they change).
  const held = lease(ctx.db, ctx.clock, 'campaigns', ctx.instance, Math.max(ctx.config.campaigns.leaseMs, 3 * ctx.config.campaigns.tickMs));
  const whenHeld = (run: () => Promise<unknown>) => async () => {
    if (await held.held()) await run();
  };
  const tick = everyUnlessBusy(ctx.config.campaigns.tickMs, track, 'campaign tick failed', whenHeld(() => tickCampaigns(ctx)));
  // A big stage is scheduled a chunk at a time; between chunks DM sessions and API calls run.
  const fill = everyUnlessBusy(200, track, 'scheduling a stage failed', whenHeld(() => scheduleNextChunks(ctx)));
  // A start whose process died (or stopped driving it) is finished here, once its campaign
  // row has not moved for a lease period: the driver moves it with every chunk.
  const resume = everyUnlessBusy(ctx.config.campaigns.tickMs, track, 'resuming a campaign start failed', whenHeld(() => resumeStalledStarts(ctx, ctx.config.campaigns.leaseMs)));
  // A slow webhook round must not pile up rounds.
  const notify = everyUnlessBusy(1000, track, 'campaign notifications failed', whenHeld(async () => {
    if (ctx.config.campaigns.notifyPerSecond > 0) await sendQueuedNotifications(ctx, ctx.config.campaigns.notifyPerSecond);
  }));
  // Scheduled starts: within a tick of their time.
  const starts = everyUnlessBusy(ctx.config.campaigns.tickMs, track, 'scheduled campaign starts failed', whenHeld(() => startDueCampaigns(ctx)));
  // Operator webhooks: the outbox is sent by the lease holder only, so a cluster posts each delivery once.
  const hooks = everyUnlessBusy(1000, track, 'operator webhook deliveries failed', whenHeld(() => deliverDueWebhooks(ctx)));
  return {
    moved: evaluations.request,
    seen: joins.request,
    idle: () => (isIdle() ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
    async stop() {
      joins.stop();
      evaluations.stop();
      tick.stop();
      fill.stop();
      resume.stop();
      notify.stop();
      hooks.stop();
      starts.stop();
      while (inflight.size > 0) await Promise.all(inflight);
      await held.release().catch((err: unknown) => ctx.log.warn({ err }, 'campaign lease not released; another process takes it when it expires'));
      ran();
    },
  };
}

/** Runs `work` in the background, for stop() to wait for; a failure is logged as `failure`. */
type Track = (work: Promise<unknown>, failure: string) => void;

/** `run` every `ms`, unless its last run has not finished: a slow pass does not pile up. */
function everyUnlessBusy(ms: number, track: Track, failure: string, run: () => Promise<unknown>): { stop(): void } {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    track(
      run().finally(() => {
        busy = false;
      }),
      failure,
    );
  }, ms);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** Work asked for now and done later; `waiting` counts what has not finished yet. */
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
 * no result waits longer. Requests that come while one is pending share it; one that comes
 * while an evaluation runs gets one of its own after (the running one may have read the
 * counts before that result).
 */
function spacedEvaluations(ctx: Context, everyMs: number, ran: () => void, track: Track): Worker<string> {
  const last = new Map<string, number>();
  const pending = new Map<string, Scheduled>();
  let running = 0;
  return {
    request(campaignId) {
      if (pending.has(campaignId)) return;
      const since = performance.now() - (last.get(campaignId) ?? Number.NEGATIVE_INFINITY);
      const cancel = later(everyMs - since, () => {
        pending.delete(campaignId);
        last.set(campaignId, performance.now());
        running += 1;
        track(
          evaluateCampaign(ctx, campaignId).finally(() => {
            running -= 1;
            ran();
          }),
          'campaign evaluation failed',
        );
      });
      pending.set(campaignId, cancel);
    },
    waiting: () => pending.size + running,
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
function batchedJoins(ctx: Context, evaluate: (campaignId: string) => void, ran: () => void, track: Track): Worker<string> {
  let seen = new Set<string>();
  let cancel: Scheduled | undefined;
  let running = 0;
  const run = async () => {
    const deviceIds = [...seen];
    seen = new Set();
    try {
      // A joiner changes its stage's size, which the engine judges the stage by.
      for (const campaignId of await joinSeenDevices(ctx, deviceIds, ctx.clock.now())) evaluate(campaignId);
    } catch (err) {
      // The device joins at the next scan instead; nothing is lost.
      ctx.log.error({ err }, 'joining seen devices to dynamic campaigns failed');
    } finally {
      running -= 1;
      ran();
    }
  };
  return {
    request(deviceId) {
      seen.add(deviceId);
      cancel ??= later(0, () => {
        cancel = undefined;
        running += 1;
        track(run(), 'joining seen devices to dynamic campaigns failed');
      });
    },
    waiting: () => seen.size + running,
    stop() {
      cancel?.();
      cancel = undefined;
      seen.clear();
    },
  };
}
