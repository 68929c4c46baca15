// Sends the operator webhook outbox (store/queries/webhooks.ts). The campaign loop runs
// this under its lease, so one process of a cluster sends; each round also claims its
// deliveries (locked rows skipped), so even two senders never post one delivery twice at
// once. Delivery is at least once: a sender that dies between the POST and marking it
// delivered leaves it to be sent again when its claim lapses, with the same
// X-Fota-Delivery id for the receiver to recognise. A failed attempt (no answer, non-2xx,
// refused address) is tried again with exponential backoff, up to MAX_ATTEMPTS.
import type { Context } from '../context.ts';
import { assertWebhookUrl, DEFAULT_WEBHOOK_TIMEOUT_MS, postToWebhook } from '../omadm/notifier.ts';
import { systemResolve } from '../omadm/webhook-address.ts';
import { anyDueDelivery, claimDueDeliveries, markDelivery } from '../store/queries/webhooks.ts';
import { SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from './signature.ts';

export const EVENT_HEADER = 'x-fota-event';
export const DELIVERY_HEADER = 'x-fota-delivery';
/** Deliveries sent per round (once a second); a backlog drains over the next rounds. */
export const WEBHOOK_BATCH = 50;
/** After this many failed attempts (about 1.5 hours of backoff) a delivery is given up as failed. */
export const MAX_ATTEMPTS = 10;
const FIRST_RETRY_MS = 5_000;
const LONGEST_RETRY_MS = 3_600_000;
/** A claim outlives the send's deadline by this much, so it never lapses under a live send. */
const CLAIM_MARGIN_MS = 10_000;

/** How long after failed attempt number `attempts` (1-based) the next one is due. */
export function retryDelayMs(attempts: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1), LONGEST_RETRY_MS);
}

/** Sends the due deliveries of one round; returns how many were attempted. */
export async function deliverDueWebhooks(ctx: Context): Promise<number> {
  const now = ctx.clock.now();
  const timeoutMs = DEFAULT_WEBHOOK_TIMEOUT_MS;
  if (!(await anyDueDelivery(ctx.db, now))) return 0;
  const claimed = await ctx.db.transaction((tx) => claimDueDeliveries(tx, now, now + timeoutMs + CLAIM_MARGIN_MS, WEBHOOK_BATCH));
  await Promise.all(
    claimed.map(async (delivery) => {
      const result = await send(ctx, delivery, timeoutMs);
      const at = ctx.clock.now();
      const outcome = result.delivered
        ? ({ state: 'delivered', at } as const)
        : ({ state: delivery.attempts >= MAX_ATTEMPTS ? 'failed' : 'pending', error: result.reason, nextAttemptAt: at + retryDelayMs(delivery.attempts) } as const);
      if (!result.delivered) ctx.log.warn({ deliveryId: delivery.id, event: delivery.event, attempts: delivery.attempts, reason: result.reason, gaveUp: outcome.state === 'failed' }, 'operator webhook not delivered');
      await ctx.db.transaction((tx) => markDelivery(tx, delivery.id, outcome));
    }),
  );
  return claimed.length;
}

async function send(
  ctx: Context,
  delivery: { id: string; event: string; body: string; url: string; secretSealed: string; secretNonce: string },
  timeoutMs: number,
): Promise<{ delivered: true } | { delivered: false; reason: string }> {
  let url: URL;
  try {
    url = assertWebhookUrl(delivery.url);
  } catch (error) {
    return { delivered: false, reason: error instanceof Error ? error.message : String(error) };
  }
  const secret = Buffer.from(ctx.vault.open(delivery.secretSealed, delivery.secretNonce)).toString('utf8');
  // Signed at each attempt: the timestamp says when this attempt was sent, for the receiver's replay window.
  const timestamp = Math.floor(ctx.clock.now() / 1000);
  const headers = {
    'content-type': 'application/json',
    [EVENT_HEADER]: delivery.event,
    [DELIVERY_HEADER]: delivery.id,
    [TIMESTAMP_HEADER]: String(timestamp),
    [SIGNATURE_HEADER]: signWebhook(secret, timestamp, delivery.body),
  };
  return postToWebhook(url, headers, new Uint8Array(Buffer.from(delivery.body, 'utf8')), { ruled: !ctx.config.dm.allowPrivateWebhooks, lookup: systemResolve, timeoutMs });
}
