// Shapes of the operator webhook API: what an admin registers and what the list shows.
import { z } from 'zod';
import { WEBHOOK_EVENTS } from '../store/queries/webhooks.ts';

export const webhookEventSchema = z.enum(WEBHOOK_EVENTS as [string, ...string[]]);

export const createWebhookSchema = z.object({
  /** http(s); held to the address rule (no loopback, private, link-local... hosts) unless FOTA_WEBHOOK_ALLOW_PRIVATE. */
  url: z.string().min(1).max(2048),
  /** The event types to send; left out: all of them. */
  events: z.array(webhookEventSchema).min(1).max(WEBHOOK_EVENTS.length).optional(),
});
export type CreateWebhook = z.infer<typeof createWebhookSchema>;

export const webhookSchema = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.string()).nullable().describe('null: every event'),
  createdAt: z.string(),
  deliveries: z.object({ pending: z.number(), delivered: z.number(), failed: z.number() }),
  lastError: z.string().nullable().describe('the last failure of a delivery not yet delivered, if any'),
});
export type WebhookView = z.infer<typeof webhookSchema>;

export const createdWebhookSchema = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.string()).nullable(),
  secret: z.string().describe('the signing secret: shown once, store it now'),
});
