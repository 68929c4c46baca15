// Replacing a device's tags (what cohorts and device filters select on), with the change in
// the audit log.
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { findDevice, updateDevice } from '../store/queries/devices.ts';
import type { Principal } from '../tokens/tokens.ts';
import { deviceTagsSchema } from './schemas.ts';

export async function setDeviceTags(ctx: Context, principal: Principal, id: string, tags: string[]): Promise<string[]> {
  const parsed = deviceTagsSchema.safeParse([...new Set(tags)]);
  if (!parsed.success) throw new AppError('VALIDATION', `tags: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    const row = await findDevice(tx, id);
    if (!row) throw new AppError('NOT_FOUND', `no device ${id}`);
    const before = JSON.parse(row.tags) as string[];
    await updateDevice(tx, id, { tags: JSON.stringify(parsed.data) });
    await recordAudit(tx, { actor: principal.tokenId, action: 'device.tags', subject: id, details: { before, after: parsed.data } }, now);
  });
  return parsed.data;
}
