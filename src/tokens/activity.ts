// What happened to a campaign or a device, from the audit log: when, which action, who
// (a person's name, or the part of the server that acted: the engine, DM, downloads), and
// the event's details (a reason, a stage, a state change). Details never hold secrets
// (the audit log's rule), so they can be shown as they are.
import type { Context } from '../context.ts';
import { shownActorName } from '../store/queries/actor-names.ts';
import { auditTimeline } from '../store/queries/audit-timeline.ts';

export interface ActivityEntry {
  at: string;
  action: string;
  /** A person's name, or the server part that acted ("system", "dm", ...). */
  who: string;
  subject: string;
  details: Record<string, unknown>;
}

export async function activityOf(ctx: Context, subjects: string[], limit: number): Promise<ActivityEntry[]> {
  return (await auditTimeline(ctx.db, subjects, limit)).map((r) => ({
    at: new Date(r.at).toISOString(),
    action: r.action,
    who: shownActorName(r.actor, r.actorName),
    subject: r.subject,
    details: JSON.parse(r.details) as Record<string, unknown>,
  }));
}
