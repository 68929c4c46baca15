// The audit log: every write records who did what to which subject, in the same
// transaction as the write itself.
import { desc, eq } from 'drizzle-orm';
import type { Db } from '../db.ts';
import { newId } from '../ids.ts';
import { auditEvents } from '../schema/index.ts';

export type Tx = Pick<Db, 'select' | 'selectDistinct' | 'insert' | 'update' | 'delete'>;

export interface AuditEntry {
  actor: string;
  action: string;
  subject: string;
  details?: Record<string, unknown>;
}

export function recordAudit(tx: Tx, entry: AuditEntry, at: number): void {
  tx.insert(auditEvents)
    .values({ id: newId('evt'), at, actor: entry.actor, action: entry.action, subject: entry.subject, details: JSON.stringify(entry.details ?? {}) })
    .run();
}

export function auditOf(db: Tx, subject: string) {
  return db.select().from(auditEvents).where(eq(auditEvents.subject, subject)).orderBy(desc(auditEvents.at)).all();
}
