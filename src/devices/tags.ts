// Operators tag devices (a cohort filter reads tags): add some, remove some, in one step
// that is audited with the tags before and after.
import { z } from 'zod';
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { lockedDeviceTags, setDeviceTags } from '../store/queries/device-tags.ts';
import { auditActor, type Principal } from '../tokens/tokens.ts';
import { deviceTagsSchema } from './schemas.ts';

/** As registration takes them (devices/schemas.ts): 1-64 characters, 64 tags at most per device. */
export const MAX_TAGS = 64;
export const tagSchema = z.string().min(1).max(64);

export const changeTagsSchema = z
  .object({ add: z.array(tagSchema).max(MAX_TAGS).optional(), remove: z.array(tagSchema).max(MAX_TAGS).optional() })
  .refine((body) => (body.add?.length ?? 0) + (body.remove?.length ?? 0) > 0, { message: 'name tags to add or remove' });
export type ChangeTags = z.infer<typeof changeTagsSchema>;

export const tagsAnswerSchema = z.object({ id: z.string(), tags: z.array(z.string()) });

/** The tags column as a list; a row written by hand with anything else counts as no tags. */
export function parseTags(column: string): string[] {
  const parsed: unknown = JSON.parse(column);
  return Array.isArray(parsed) ? parsed.filter((t): t is string => typeof t === 'string') : [];
}

/** Adds, then removes (a tag in both ends up removed); keeps the order tags were first given. */
export async function changeTags(ctx: Context, principal: Principal, id: string, change: ChangeTags): Promise<{ id: string; tags: string[] }> {
  const removed = new Set(change.remove ?? []);
  return rewriteTags(ctx, principal, id, (before) => {
    const tags = [...new Set([...before, ...(change.add ?? [])])].filter((t) => !removed.has(t));
    if (tags.length > MAX_TAGS) throw new AppError('VALIDATION', `body: add would give device ${id} ${tags.length} tags; at most ${MAX_TAGS}`);
    return tags;
  });
}

/** Replaces the device's tags with `tags` (the console's tag editor). */
export async function replaceTags(ctx: Context, principal: Principal, id: string, tags: string[]): Promise<string[]> {
  const parsed = deviceTagsSchema.safeParse([...new Set(tags)]);
  if (!parsed.success) throw new AppError('VALIDATION', `tags: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return (await rewriteTags(ctx, principal, id, () => parsed.data)).tags;
}

/** Rewrites a device's tags under its row lock, audited with the tags before and after. */
async function rewriteTags(ctx: Context, principal: Principal, id: string, next: (before: string[]) => string[]): Promise<{ id: string; tags: string[] }> {
  const now = ctx.clock.now();
  return ctx.db.transaction(async (tx) => {
    const stored = await lockedDeviceTags(tx, id);
    if (stored === undefined) throw new AppError('NOT_FOUND', `no device ${id}`);
    const before = parseTags(stored);
    const tags = next(before);
    await setDeviceTags(tx, id, tags);
    await recordAudit(tx, { ...auditActor(principal), action: 'device.tags', subject: id, details: { before, after: tags } }, now);
    return { id, tags };
  });
}
