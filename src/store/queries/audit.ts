// The audit log: every write records who did what to which subject, in the same
// transaction as the write itself.
import { desc, eq, sql } from 'drizzle-orm';
import { newId } from '../ids.ts';
import type { auditEvents } from '../schema/index.ts';
import type { Tx } from '../store.ts';
import { actorNameFor } from './actor-names.ts';
import { preparedPer } from './prepared.ts';
import { enqueueWebhookDeliveries } from './webhooks.ts';

export interface AuditEntry {
  /** The person's id (`auditActor(principal)`), or the server's own name ("system", "engine"). */
  actor: string;
  /** The person's display name, kept as it was then; left out, recordAudit finds one (actor-names.ts). */
  actorName?: string;
  /** The token the person used. */
  tokenId?: string;
  action: string;
  subject: string;
  details?: Record<string, unknown>;
}

/** Who an event is recorded under (`auditActor(principal)` for a person). */
export type AuditActor = Pick<AuditEntry, 'actor' | 'actorName' | 'tokenId'>;

export type AuditRow = typeof auditEvents.$inferSelect;

// Prepared once: every state change writes an event, and building the insert in drizzle and
// compiling it in SQLite cost more than running it (a deployment's first download,
// bench:download).
const insertEvent = preparedPer(({ q, t: { auditEvents } }) =>
  q
    .insert(auditEvents)
    .values({
      id: sql.placeholder('id'),
      at: sql.placeholder('at'),
      actor: sql.placeholder('actor'),
      actorName: sql.placeholder('actorName'),
      tokenId: sql.placeholder('tokenId'),
      action: sql.placeholder('action'),
      subject: sql.placeholder('subject'),
      details: sql.placeholder('details'),
    })
    .prepare(),
);

/** Also writes the deliveries operator webhooks are owed for it, in the same transaction (queries/webhooks.ts). */
export async function recordAudit(tx: Tx, entry: AuditEntry, at: number): Promise<void> {
  const id = newId('evt');
  const details = entry.details ?? {};
  // Every event names who acted, the server's own steps included (actor-names.ts).
  const actorName = entry.actorName ?? (await actorNameFor(tx, entry.actor));
  await insertEvent(tx).execute({ id, at, actor: entry.actor, actorName, tokenId: entry.tokenId ?? null, action: entry.action, subject: entry.subject, details: JSON.stringify(details) });
  await enqueueWebhookDeliveries(tx, { id, at, actor: entry.actor, actorName, action: entry.action, subject: entry.subject, details });
}

export async function auditOf(tx: Tx, subject: string): Promise<AuditRow[]> {
  const { auditEvents } = tx.t;
  return tx.q.select().from(auditEvents).where(eq(auditEvents.subject, subject)).orderBy(desc(auditEvents.at));
}
