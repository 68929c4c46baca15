// Devices matching a filter, a keyset page at a time (id order), and how many match: the
// console's device list and the API's (GET /api/v1/devices) both read it. The
// campaign part (campaign, stage, deployment state, result code) is one EXISTS over the
// device's deployments, so a device counts once however many deployments it has; the
// deployments_device index keeps it a lookup per device. Written once for SQLite and
// PostgreSQL (no json_* functions: tags go through jsonArrayHas).
import { and, asc, count, eq, gt, isNull, lt, or, type SQL, sql } from 'drizzle-orm';
import type { Tables, Tx } from '../store.ts';
import { jsonArrayHas } from './campaigns.ts';
import { type DeviceRow, prefixRange } from './devices.ts';

/** When a device last talked to the server: within a day or a week, not for a week, never. */
export const SEEN_WINDOWS = ['day', 'week', 'stale', 'never'] as const;

export interface DeviceFilterQuery {
  q?: string | undefined;
  model?: string | undefined;
  version?: string | undefined;
  tag?: string | undefined;
  seen?: (typeof SEEN_WINDOWS)[number];
  /** Not seen since this time (ms), or never seen at all. */
  lastSeenBefore?: number | undefined;
  now?: number;
  dayMs?: number;
  campaign?: string | undefined;
  /** The stage index (from 0). */
  stage?: number;
  state?: string | undefined;
  /** A FUMO result code, or 'timeout' (failed with no code). */
  result?: string | undefined;
}

function seenWhere(devices: Tables['devices'], f: DeviceFilterQuery): SQL | undefined {
  const before = f.lastSeenBefore === undefined ? undefined : or(isNull(devices.lastSeen), lt(devices.lastSeen, f.lastSeenBefore));
  if (!f.seen) return before;
  return and(before, seenWindowWhere(devices, f));
}

function seenWindowWhere(devices: Tables['devices'], f: DeviceFilterQuery): SQL | undefined {
  const now = f.now ?? 0;
  const day = f.dayMs ?? 86_400_000;
  switch (f.seen) {
    case 'day':
      return gt(devices.lastSeen, now - day);
    case 'week':
      return gt(devices.lastSeen, now - 7 * day);
    case 'stale':
      return or(isNull(devices.lastSeen), lt(devices.lastSeen, now - 7 * day));
    case 'never':
      return isNull(devices.lastSeen);
  }
}

function deploymentWhere(devices: Tables['devices'], f: DeviceFilterQuery): SQL | undefined {
  const clauses: SQL[] = [];
  if (f.campaign !== undefined) clauses.push(sql`dp.campaign_id = ${f.campaign}`);
  if (f.stage !== undefined) clauses.push(sql`dp.stage = ${f.stage}`);
  if (f.state !== undefined) clauses.push(sql`dp.state = ${f.state}`);
  if (f.result === 'timeout') clauses.push(sql`dp.state = 'failed' AND dp.result_code IS NULL`);
  else if (f.result !== undefined) clauses.push(sql`dp.result_code = ${Number(f.result)}`);
  if (clauses.length === 0) return undefined;
  return sql`EXISTS (SELECT 1 FROM deployments dp WHERE dp.device_id = ${devices.id} AND ${sql.join(clauses, sql` AND `)})`;
}

function filterWhere(devices: Tables['devices'], f: DeviceFilterQuery): SQL | undefined {
  return and(
    prefixRange(devices, f.q),
    f.model !== undefined ? eq(devices.model, f.model) : undefined,
    f.version !== undefined ? eq(devices.firmwareVersion, f.version) : undefined,
    f.tag !== undefined ? jsonArrayHas(sql`${devices.tags}`, f.tag) : undefined,
    seenWhere(devices, f),
    deploymentWhere(devices, f),
  );
}

export async function filteredDevices(tx: Tx, f: DeviceFilterQuery, page: { after?: string; limit: number }): Promise<DeviceRow[]> {
  const { devices } = tx.t;
  return tx.q
    .select()
    .from(devices)
    .where(and(filterWhere(devices, f), page.after ? gt(devices.id, page.after) : undefined))
    .orderBy(asc(devices.id))
    .limit(page.limit);
}

export async function countFilteredDevices(tx: Tx, f: DeviceFilterQuery): Promise<number> {
  const { devices } = tx.t;
  const [row] = await tx.q.select({ n: count() }).from(devices).where(filterWhere(devices, f));
  return Number(row?.n ?? 0);
}
