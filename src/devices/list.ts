// The devices list: by model, firmware version, tag, last contact or campaign, in id
// order, a page at a time.
import { z } from 'zod';
import type { Context } from '../context.ts';
import { keysetPage, type Page, pageQuerySchema, pageSchema } from '../store/page.ts';
import { filteredDevices } from '../store/queries/device-filter.ts';
import { parseTags } from './tags.ts';

export const deviceListQuerySchema = pageQuerySchema.extend({
  model: z.string().min(1).max(128).optional(),
  version: z.string().min(1).max(128).optional().describe('the firmware version the device reports'),
  tag: z.string().min(1).max(64).optional(),
  lastSeenBefore: z.iso
    .datetime({ offset: true, error: 'must be an ISO 8601 time, e.g. 2026-12-01T00:00:00Z' })
    .optional()
    .describe('devices not seen since this time, and those never seen'),
  campaign: z.string().min(1).max(64).optional().describe('devices that have a deployment in this campaign'),
});
export type DeviceListQuery = z.infer<typeof deviceListQuerySchema>;

export const deviceListItemSchema = z.object({
  id: z.string(),
  model: z.string(),
  firmwareVersion: z.string().nullable(),
  tags: z.array(z.string()),
  createdAt: z.string(),
  lastSeen: z.string().nullable(),
});
export type DeviceListItem = z.infer<typeof deviceListItemSchema>;
export const devicePageSchema = pageSchema(deviceListItemSchema);

export function listDevices(ctx: Context, query: DeviceListQuery): Promise<Page<DeviceListItem>> {
  const filter = {
    model: query.model,
    version: query.version,
    tag: query.tag,
    lastSeenBefore: query.lastSeenBefore === undefined ? undefined : Date.parse(query.lastSeenBefore),
    campaign: query.campaign,
  };
  return keysetPage(
    'devices',
    query,
    (after, limit) => filteredDevices(ctx.db, filter, { ...(after === undefined ? {} : { after }), limit }),
    (row) => row.id,
    (row) => ({
      id: row.id,
      model: row.model,
      firmwareVersion: row.firmwareVersion,
      tags: parseTags(row.tags),
      createdAt: new Date(row.createdAt).toISOString(),
      lastSeen: row.lastSeen === null ? null : new Date(row.lastSeen).toISOString(),
    }),
  );
}
