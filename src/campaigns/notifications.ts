// Package 0 for the devices of a started stage, at a bounded rate (config
// campaigns.notifyPerSecond). The queue is in the database, so a restart loses nothing;
// a notification is taken off the queue before it is sent, and a device it does not
// reach updates when it next polls. Only running campaigns inside their maintenance
// window are served.
import type { Context } from '../context.ts';
import { notifyDevice } from '../devices/notify.ts';
import { campaignsIn, takeNotifications } from '../store/queries/campaigns.ts';
import { campaignWindowOpen } from '../schedule/window.ts';

/** Sends up to `budget` queued notifications; returns how many were taken off the queue. */
export async function sendQueuedNotifications(ctx: Context, budget: number): Promise<number> {
  const now = ctx.clock.now();
  const open = (await campaignsIn(ctx.db, ['running'])).filter((c) => campaignWindowOpen(c, now)).map((c) => c.id);
  // No campaign to serve (the usual answer, every second): no write transaction.
  if (open.length === 0) return 0;
  const deviceIds = await ctx.db.transaction((tx) => takeNotifications(tx, open, Math.floor(budget)));
  await Promise.all(
    deviceIds.map((deviceId) =>
      notifyDevice(ctx, 'system', deviceId).catch((err: unknown) => {
        ctx.log.warn({ err, deviceId }, 'campaign Package 0 not sent; the device updates when it next polls');
      }),
    ),
  );
  return deviceIds.length;
}
