// Device filters: which devices a list shows (model, firmware version, tag, when last seen,
// campaign, stage, deployment state, result code, id prefix), parsed from a query string so
// every filtered list is a URL an operator can bookmark, share or follow from a count on a
// campaign page. The API's device list can take the same schema.
import { z } from 'zod';
import { DEPLOYMENT_STATES } from './policy.ts';
import type { Context } from '../context.ts';
import { countFilteredDevices, type DeviceFilterQuery, filteredDevices, SEEN_WINDOWS } from '../store/queries/device-filter.ts';
import type { DevicePage } from '../devices/devices.ts';

const DAY_MS = 24 * 3600 * 1000;

const text = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .optional()
    .transform((s) => (s === '' ? undefined : s));

/** An empty field in a GET form means "any": it is dropped, never matched as ''. */
export const deviceFilterSchema = z.object({
  q: text(128).pipe(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9:._-]{0,127}$/, 'device ids are 1-128 letters, digits, ":", ".", "_" or "-"').optional()),
  model: text(128),
  version: text(128),
  tag: text(64),
  seen: z.enum(['', ...SEEN_WINDOWS]).optional().transform((s) => (s ? s : undefined)),
  campaign: text(64),
  stage: text(3).pipe(
    z
      .string()
      .regex(/^\d{1,2}$/, 'a stage is a number from 1')
      .transform(Number)
      .pipe(z.number().int().min(1, 'stages are numbered from 1').max(20))
      .optional(),
  ),
  state: z.enum(['', ...DEPLOYMENT_STATES]).optional().transform((s) => (s ? s : undefined)),
  result: text(8).pipe(z.string().regex(/^(\d{1,4}|timeout)$/, 'a result code is a number (e.g. 410) or "timeout"').optional()),
});
type ParsedFilter = z.infer<typeof deviceFilterSchema>;
/** Every field optional: a filter built in code names only what it filters on. */
export type DeviceFilter = { [K in keyof ParsedFilter]?: ParsedFilter[K] };

/** The filter's fields in a fixed order, empty ones left out: the query string of its list. */
export function filterQuery(filter: DeviceFilter, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const key of Object.keys(deviceFilterSchema.shape) as Array<keyof DeviceFilter>) {
    const value = filter[key];
    if (value !== undefined) params.set(key, String(value));
  }
  for (const [k, v] of Object.entries(extra)) params.set(k, v);
  return params.toString();
}

export function deviceListHref(filter: DeviceFilter): string {
  const query = filterQuery(filter);
  return query ? `/devices?${query}` : '/devices';
}

function toQuery(ctx: Context, filter: DeviceFilter): DeviceFilterQuery {
  const { stage, seen, ...rest } = filter;
  return {
    ...rest,
    // Stages are numbered from 1 on pages; deployments store the index.
    ...(stage !== undefined ? { stage: stage - 1 } : {}),
    ...(seen ? { seen, now: ctx.clock.now(), dayMs: DAY_MS } : {}),
  };
}

/** A page of matching devices in id order, with the number that match on every page. */
export async function filterDevices(ctx: Context, filter: DeviceFilter, options: { after?: string; limit: number }): Promise<DevicePage> {
  const query = toQuery(ctx, filter);
  const rows = await filteredDevices(ctx.db, query, { ...(options.after ? { after: options.after } : {}), limit: options.limit + 1 });
  const page = rows.slice(0, options.limit);
  return {
    devices: page.map((row) => ({ id: row.id, model: row.model, firmwareVersion: row.firmwareVersion, tags: JSON.parse(row.tags) as string[], lastSeen: row.lastSeen === null ? null : new Date(Number(row.lastSeen)).toISOString() })),
    total: await countFilteredDevices(ctx.db, query),
    next: rows.length > options.limit ? (page.at(-1)?.id ?? null) : null,
  };
}
