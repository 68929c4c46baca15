// The audit log as a timeline: the newest events about some subjects (a campaign; a device
// and its deployments), with the name of the person who acted (recorded with the event).
import { desc, inArray } from 'drizzle-orm';
import type { Tx } from '../store.ts';

export interface TimelineRow {
  id: string;
  at: number;
  actor: string;
  actorName: string | null;
  action: string;
  subject: string;
  details: string;
}

export async function auditTimeline(tx: Tx, subjects: string[], limit: number): Promise<TimelineRow[]> {
  if (subjects.length === 0) return [];
  const { auditEvents } = tx.t;
  const found = await tx.q
    .select({ id: auditEvents.id, at: auditEvents.at, actor: auditEvents.actor, actorName: auditEvents.actorName, action: auditEvents.action, subject: auditEvents.subject, details: auditEvents.details })
    .from(auditEvents)
    .where(inArray(auditEvents.subject, subjects))
    .orderBy(desc(auditEvents.at), desc(auditEvents.id))
    .limit(limit);
  return found.map((r) => ({ ...r, at: Number(r.at) }));
}
