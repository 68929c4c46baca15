// The audit log: every write records who did what to which subject, in the same
// transaction as the write itself.
import { desc, eq } from 'drizzle-orm';
import { newId } from '../ids.ts';
import type { auditEvents } from '../schema/index.ts';
import type { Tx } from '../store.ts';

export interface AuditEntry {
  actor: string;
  action: string;
  subject: string;
  details?: Record<string, unknown>;
}

export type AuditRow = typeof auditEvents.$inferSelect;

export async function recordAudit(tx: Tx, entry: AuditEntry, at: number): Promise<void> {
  await tx.q
    .insert(tx.t.auditEvents)
    .values({ id: newId('evt'), at, actor: entry.actor, action: entry.action, subject: entry.subject, details: JSON.stringify(entry.details ?? {}) });
}

export async function auditOf(tx: Tx, subject: string): Promise<AuditRow[]> {
  const { auditEvents } = tx.t;
  return tx.q.select().from(auditEvents).where(eq(auditEvents.subject, subject)).orderBy(desc(auditEvents.at));
}
