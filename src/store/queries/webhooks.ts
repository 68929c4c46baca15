// Operator webhooks (schema/webhooks.ts): registering them, writing the deliveries a
// campaign event owes them (in the event's own transaction), and taking due deliveries
// for the sender. A delivery is claimed before it is sent (its next attempt pushed past
// the send's deadline, locked rows skipped), so two senders never post the same one at
// once, and one whose sender died is due again when the claim lapses.
import { and, asc, eq, inArray, lte, type Placeholder, type SQL, sql } from 'drizzle-orm';
import { forUpdate } from '../dialect.ts';
import { newId } from '../ids.ts';
import type { webhookDeliveries, webhooks } from '../schema/index.ts';
import type { Tx } from '../store.ts';
import { preparedRead } from './prepared.ts';

export type WebhookRow = typeof webhooks.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;

/**
 * The audit actions operators hear about, and the event type each is sent as. The audit
 * log is where every campaign state change is already recorded with its transaction, so
 * the outbox is filled from there (recordAudit) and no state change can forget it.
 */
export const WEBHOOK_EVENT_OF_ACTION: Readonly<Record<string, string>> = {
  'campaign.schedule': 'campaign.scheduled',
  'campaign.start-failed': 'campaign.start-failed',
  'campaign.force': 'campaign.forced',
  'campaign.rollback': 'campaign.rollback-created',
  'campaign.start': 'campaign.started',
  'campaign.pause': 'campaign.paused',
  'campaign.resume': 'campaign.resumed',
  'campaign.stage.start': 'campaign.stage.started',
  'campaign.stage.awaiting-approval': 'campaign.stage.awaiting-approval',
  'campaign.complete': 'campaign.completed',
  'campaign.abort': 'campaign.cancelled',
};

export const WEBHOOK_EVENTS: readonly string[] = Object.values(WEBHOOK_EVENT_OF_ACTION);

export async function insertWebhook(tx: Tx, row: WebhookRow): Promise<void> {
  await tx.q.insert(tx.t.webhooks).values(row);
}

export async function listWebhooks(tx: Tx): Promise<WebhookRow[]> {
  const { webhooks } = tx.t;
  return tx.q.select().from(webhooks).orderBy(asc(webhooks.createdAt));
}

export async function findWebhook(tx: Tx, id: string): Promise<WebhookRow | undefined> {
  const { webhooks } = tx.t;
  return (await tx.q.select().from(webhooks).where(eq(webhooks.id, id)))[0];
}

/** Removes a webhook and what it was still owed; false when there was none. */
export async function deleteWebhook(tx: Tx, id: string): Promise<boolean> {
  const { webhooks, webhookDeliveries } = tx.t;
  await tx.q.delete(webhookDeliveries).where(eq(webhookDeliveries.webhookId, id));
  return (await tx.q.delete(webhooks).where(eq(webhooks.id, id)).returning({ id: webhooks.id })).length === 1;
}

/** Deliveries per webhook and state, for the list. */
export async function deliveryCounts(tx: Tx): Promise<Array<{ webhookId: string; state: string; n: number; lastError: string | null }>> {
  const { webhookDeliveries: d } = tx.t;
  const counted = await tx.q
    .select({ webhookId: d.webhookId, state: d.state, n: sql<number>`count(*)`.mapWith(Number), lastError: sql<string | null>`max(${d.lastError})` })
    .from(d)
    .groupBy(d.webhookId, d.state);
  return counted;
}

export interface AuditedEvent {
  id: string;
  at: number;
  actor: string;
  /** Who acted, by name (a person's, or "fota (automatic)" for the campaign engine). */
  actorName?: string;
  action: string;
  subject: string;
  details: Record<string, unknown>;
}

/**
 * Called by recordAudit in the audit event's transaction: one pending delivery per webhook
 * that wants this event, with the body it will be sent (and signed) with.
 */
export async function enqueueWebhookDeliveries(tx: Tx, event: AuditedEvent): Promise<void> {
  const type = WEBHOOK_EVENT_OF_ACTION[event.action];
  if (type === undefined) return;
  const wanting = (await listWebhooks(tx)).filter((w) => w.events === null || (JSON.parse(w.events) as string[]).includes(type));
  if (wanting.length === 0) return;
  const { campaigns } = tx.t;
  const [campaign] = await tx.q
    .select({ id: campaigns.id, name: campaigns.name, state: campaigns.state, pausedReason: campaigns.pausedReason })
    .from(campaigns)
    .where(eq(campaigns.id, event.subject));
  const body = JSON.stringify({
    id: event.id,
    type,
    occurredAt: new Date(event.at).toISOString(),
    actor: event.actor,
    ...(event.actorName !== undefined ? { actorName: event.actorName } : {}),
    campaign: campaign ?? { id: event.subject },
    details: event.details,
  });
  await tx.q
    .insert(tx.t.webhookDeliveries)
    .values(wanting.map((w) => ({ id: newId('whd'), webhookId: w.id, event: type, body, state: 'pending' as const, attempts: 0, nextAttemptAt: event.at, createdAt: event.at })));
}

/** Deliveries the sender may take: pending, and their next attempt is due. */
function due(d: typeof webhookDeliveries, now: number | Placeholder): SQL | undefined {
  return and(eq(d.state, 'pending'), lte(d.nextAttemptAt, now));
}

// Prepared once: the lease holder asks every second (campaigns/loop.ts).
const dueDelivery = preparedRead(({ q, t: { webhookDeliveries: d } }) => q.select({ id: d.id }).from(d).where(due(d, sql.placeholder('now'))).limit(1).prepare());

/**
 * Whether claimDueDeliveries would find a delivery now: one read of the due index outside
 * any transaction, so an empty outbox costs no write transaction every second.
 */
export async function anyDueDelivery(tx: Tx, now: number): Promise<boolean> {
  return (await dueDelivery(tx).execute({ now })).length > 0;
}

/**
 * Takes up to `limit` due deliveries for one sending round: each gets an attempt counted
 * and its next attempt set to `claimUntil`, so nobody else takes it meanwhile; the sender
 * then marks it delivered, or due again later.
 */
export async function claimDueDeliveries(tx: Tx, now: number, claimUntil: number, limit: number): Promise<Array<WebhookDeliveryRow & { url: string; secretSealed: string; secretNonce: string }>> {
  const { webhookDeliveries: d, webhooks: w } = tx.t;
  const taken = await forUpdate(
    tx,
    tx.q
      .select()
      .from(d)
      .where(due(d, now))
      .orderBy(asc(d.nextAttemptAt), asc(d.id))
      .limit(limit),
    { skipLocked: true },
  );
  if (taken.length === 0) return [];
  await tx.q
    .update(d)
    .set({ attempts: sql`${d.attempts} + 1`, nextAttemptAt: claimUntil })
    .where(inArray(d.id, taken.map((r) => r.id)));
  const targets = new Map((await tx.q.select().from(w).where(inArray(w.id, [...new Set(taken.map((r) => r.webhookId))]))).map((r) => [r.id, r]));
  return taken.flatMap((row) => {
    const target = targets.get(row.webhookId);
    return target ? [{ ...row, attempts: row.attempts + 1, url: target.url, secretSealed: target.secretSealed, secretNonce: target.secretNonce }] : [];
  });
}

export async function markDelivery(tx: Tx, id: string, outcome: { state: 'delivered'; at: number } | { state: 'pending' | 'failed'; error: string; nextAttemptAt: number }): Promise<void> {
  const { webhookDeliveries: d } = tx.t;
  await tx.q
    .update(d)
    .set(outcome.state === 'delivered' ? { state: 'delivered', deliveredAt: outcome.at, lastError: null } : { state: outcome.state, lastError: outcome.error, nextAttemptAt: outcome.nextAttemptAt })
    .where(eq(d.id, id));
}

export async function deliveriesOf(tx: Tx, webhookId: string): Promise<WebhookDeliveryRow[]> {
  const { webhookDeliveries: d } = tx.t;
  return tx.q.select().from(d).where(eq(d.webhookId, webhookId)).orderBy(asc(d.createdAt), asc(d.id));
}
