// The audit log, read back: who did what to which subject, newest first, filtered by
// subject, actor or action, a page at a time. Details hold no secrets (they are written
// so), so the events are served as recorded.
import { z } from 'zod';
import type { Context } from '../context.ts';
import { keysetPage, type Page, pageQuerySchema, pageSchema } from '../store/page.ts';
import { shownActorName } from '../store/queries/actor-names.ts';
import { auditPage } from '../store/queries/lists.ts';

const text = z.string().min(1).max(256);

export const auditListQuerySchema = pageQuerySchema.extend({
  subject: text.optional().describe('what the event is about: a build, device, campaign, token id ...'),
  actor: text.optional().describe('who did it: a person id (psn_...), or a part of the server ("campaign-engine", "dm", "system")'),
  action: text.optional().describe('e.g. build.upload, device.register, campaign.approve'),
});
export type AuditListQuery = z.infer<typeof auditListQuerySchema>;

export const auditEventSchema = z.object({
  id: z.string(),
  at: z.string(),
  actor: z.string().describe('a person id (psn_...), or a part of the server ("campaign-engine", "dm", "system")'),
  actorName: z.string().describe('who acted, by name: the person as named when they acted, or "fota (automatic)" for the campaign engine'),
  tokenId: z.string().nullable().describe('the token the person used (null for the server\'s own work)'),
  action: z.string(),
  subject: z.string(),
  details: z.record(z.string(), z.unknown()),
});
export type AuditEvent = z.infer<typeof auditEventSchema>;
export const auditPageSchema = pageSchema(auditEventSchema);

export function listAudit(ctx: Context, query: AuditListQuery): Promise<Page<AuditEvent>> {
  return keysetPage(
    'audit',
    query,
    (after, limit) => auditPage(ctx.db, { subject: query.subject, actor: query.actor, action: query.action }, after, limit),
    (row) => row.id,
    (row) => ({ id: row.id, at: new Date(row.at).toISOString(), actor: row.actor, actorName: shownActorName(row.actor, row.actorName), tokenId: row.tokenId, action: row.action, subject: row.subject, details: JSON.parse(row.details) as Record<string, unknown> }),
  );
}
