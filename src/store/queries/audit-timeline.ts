// The audit log as a timeline: the newest events about some subjects (a campaign; a device
// and its deployments), with the name of the token that acted where the actor is a token.
import { desc, eq, inArray } from 'drizzle-orm';
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
  const { auditEvents, tokens } = tx.t;
  const found = await tx.q
    .select({ id: auditEvents.id, at: auditEvents.at, actor: auditEvents.actor, actorName: tokens.name, action: auditEvents.action, subject: auditEvents.subject, details: auditEvents.details })
    .from(auditEvents)
    .leftJoin(tokens, eq(tokens.id, auditEvents.actor))
    .where(inArray(auditEvents.subject, subjects))
    .orderBy(desc(auditEvents.at), desc(auditEvents.id))
    .limit(limit);
  return found.map((r) => ({ ...r, at: Number(r.at) }));
}
