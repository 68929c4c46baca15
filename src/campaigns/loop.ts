// The engine's timers in a running server: the tick (timeouts, soak, dynamic cohorts) and
// the Package 0 sender, which drains the queue at the configured rate once a second.
import type { Context } from '../context.ts';
import { tickCampaigns } from './engine.ts';
import { sendQueuedNotifications } from './notifications.ts';

export interface CampaignLoop {
  stop(): Promise<void>;
}

export function startCampaignLoop(ctx: Context): CampaignLoop {
  const tick = setInterval(() => tickCampaigns(ctx), ctx.config.campaigns.tickMs);
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
      clearInterval(tick);
      clearInterval(notify);
      await sending;
    },
  };
}
