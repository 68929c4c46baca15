// Operator webhooks: URLs an admin registers to hear of campaign state changes, and the
// outbox of deliveries owed to them. A delivery row is written in the transaction of the
// state change it reports (with its audit event), so a crash never loses one; the
// campaign loop sends them under its lease and marks each delivered or due again later.
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const webhooks = sqliteTable('webhooks', {
  id: text('id').primaryKey(),
  url: text('url').notNull(),
  /** JSON array of event types it wants, e.g. ["campaign.paused"]; null: every event. */
  events: text('events'),
  /** The signing secret, sealed by the key vault (shown once at creation, never served again). */
  secretSealed: text('secret_sealed').notNull(),
  secretNonce: text('secret_nonce').notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: integer('created_at').notNull(),
});

export const webhookDeliveries = sqliteTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    webhookId: text('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    /** The event type (campaign.paused, ...) and the exact JSON body that is signed and sent. */
    event: text('event').notNull(),
    body: text('body').notNull(),
    state: text('state', { enum: ['pending', 'delivered', 'failed'] }).notNull(),
    /** Attempts made so far (a claimed attempt counts, so a crash mid-send still backs off). */
    attempts: integer('attempts').notNull().default(0),
    /** When it is next due; while an attempt is under way, when that attempt's claim lapses. */
    nextAttemptAt: integer('next_attempt_at').notNull(),
    lastError: text('last_error'),
    createdAt: integer('created_at').notNull(),
    deliveredAt: integer('delivered_at'),
  },
  (t) => [index('webhook_deliveries_due').on(t.state, t.nextAttemptAt), index('webhook_deliveries_webhook').on(t.webhookId)],
);
