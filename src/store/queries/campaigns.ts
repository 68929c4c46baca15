// Campaign rows, and the bulk statements a campaign needs over its deployments: the
// cohort snapshot, a stage's start, counts by state, timeouts, the Package 0 queue. These
// touch up to millions of rows, so they are plain SQL on the better-sqlite3 connection,
// prepared once per connection and run inside the caller's transaction (they take its tx).
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { campaigns, campaignStages } from '../schema/index.ts';
import { forUpdate } from '../dialect.ts';
import type { Tx } from '../store.ts';
import { preparedPer, preparedSql, sqliteOf } from './prepared.ts';

export type CampaignRow = typeof campaigns.$inferSelect;
export type StageRow = typeof campaignStages.$inferSelect;
export type CampaignState = CampaignRow['state'];

/** Campaign states that hold their devices: a device is in at most one of these at a time. */
export const ACTIVE_CAMPAIGN_STATES: CampaignState[] = ['running', 'paused'];

export interface CohortFilter {
  model: string;
  versions?: string[];
  tags?: string[];
  deviceIds?: string[];
}

export async function insertCampaign(tx: Tx, row: typeof campaigns.$inferInsert, stages: Array<typeof campaignStages.$inferInsert>): Promise<void> {
  await tx.q.insert(tx.t.campaigns).values(row);
  await tx.q.insert(tx.t.campaignStages).values(stages);
}

const campaignQuery = ({ q, t }: Tx) => q.select().from(t.campaigns).where(eq(t.campaigns.id, sql.placeholder('id')));
const campaignById = preparedPer((tx) => campaignQuery(tx).prepare());
const campaignForUpdate = preparedPer((tx) => forUpdate(tx, campaignQuery(tx)).prepare());

/**
 * With `forUpdate`, for a transaction that decides on what it reads of the campaign
 * (evaluate, start, approve, pause, resume, abort, admit late joiners): on PostgreSQL the
 * campaign row stays locked until commit, so two processes acting on one campaign take
 * turns and the second reads what the first decided, as on SQLite's single writer.
 */
export async function findCampaign(tx: Tx, id: string, options: { forUpdate?: boolean } = {}): Promise<CampaignRow | undefined> {
  return (await (options.forUpdate ? campaignForUpdate : campaignById)(tx).execute({ id }))[0];
}

export async function stagesOf(tx: Tx, campaignId: string): Promise<StageRow[]> {
  const { campaignStages } = tx.t;
  return tx.q.select().from(campaignStages).where(eq(campaignStages.campaignId, campaignId)).orderBy(asc(campaignStages.index));
}

export async function listCampaigns(tx: Tx, limit: number): Promise<CampaignRow[]> {
  const { campaigns } = tx.t;
  return tx.q.select().from(campaigns).orderBy(desc(campaigns.createdAt)).limit(limit);
}

export async function campaignsIn(tx: Tx, states: CampaignState[]): Promise<CampaignRow[]> {
  const { campaigns } = tx.t;
  return tx.q.select().from(campaigns).where(inArray(campaigns.state, states));
}

export async function updateCampaign(tx: Tx, id: string, changes: Partial<typeof campaigns.$inferInsert>): Promise<void> {
  const { campaigns } = tx.t;
  await tx.q.update(campaigns).set(changes).where(eq(campaigns.id, id));
}

export async function updateStage(tx: Tx, campaignId: string, index: number, changes: Partial<typeof campaignStages.$inferInsert>): Promise<void> {
  const { campaignStages } = tx.t;
  await tx.q
    .update(campaignStages)
    .set(changes)
    .where(and(eq(campaignStages.campaignId, campaignId), eq(campaignStages.index, index)));
}

// ---------------------------------------------------------------------------------------
// Raw statements


/** The cohort as a WHERE clause over `devices d`, with its parameters. */
function cohortWhere(filter: CohortFilter): { where: string; params: unknown[] } {
  const clauses = ['d.model = ?'];
  const params: unknown[] = [filter.model];
  if (filter.versions) {
    clauses.push(`d.firmware_version IN (${filter.versions.map(() => '?').join(',')})`);
    params.push(...filter.versions);
  }
  for (const tag of filter.tags ?? []) {
    clauses.push('EXISTS (SELECT 1 FROM json_each(d.tags) WHERE json_each.value = ?)');
    params.push(tag);
  }
  if (filter.deviceIds) {
    clauses.push(`d.id IN (${filter.deviceIds.map(() => '?').join(',')})`);
    params.push(...filter.deviceIds);
  }
  return { where: clauses.join(' AND '), params };
}

/** Matching devices by firmware version ('' for devices that never reported one). */
export async function cohortByVersion(tx: Tx, filter: CohortFilter): Promise<Map<string, number>> {
  const { where, params } = cohortWhere(filter);
  const rows = sqliteOf(tx).prepare(`SELECT coalesce(d.firmware_version, '') AS version, count(*) AS n FROM devices d WHERE ${where} GROUP BY 1`).all(...params) as Array<{ version: string; n: number }>;
  return new Map(rows.map((r) => [r.version, r.n]));
}

/** Cohort devices that are in a running or paused campaign, by campaign (excluding `except`). */
export async function cohortInOtherCampaigns(tx: Tx, filter: CohortFilter, except?: string): Promise<Array<{ campaignId: string; devices: number }>> {
  const { where, params } = cohortWhere(filter);
  const client = sqliteOf(tx);
  const active = client.prepare(`SELECT id FROM campaigns WHERE state IN ('running', 'paused') AND id != ?`).pluck().all(except ?? '') as string[];
  const found: Array<{ campaignId: string; devices: number }> = [];
  // Per active campaign (there are few), so the scan runs over that campaign's rows.
  for (const campaignId of active) {
    const n = client.prepare(`SELECT count(DISTINCT dp.device_id) FROM deployments dp JOIN devices d ON d.id = dp.device_id WHERE dp.campaign_id = ? AND ${where}`).pluck().get(campaignId, ...params) as number;
    if (n > 0) found.push({ campaignId, devices: n });
  }
  return found;
}

export interface CohortSnapshot {
  deviceIds: string[];
  /** The firmware version of each device, in the order of `deviceIds` (it picks the package). */
  firmwareVersions: Array<string | null>;
  alreadyCurrent: number;
  /** Left out: a one-device deployment is under way on them. */
  busy: number;
}

/**
 * The devices a campaign to `targetVersion` takes: the cohort minus current and busy ones.
 * The filtering is done in SQL and rows are read one at a time into two flat arrays (not
 * a row array per device); the two counts come from an aggregate over the same cohort.
 */
export async function snapshotCohort(tx: Tx, filter: CohortFilter, targetVersion: string): Promise<CohortSnapshot> {
  const { where, params } = cohortWhere(filter);
  const deviceIds: string[] = [];
  const firmwareVersions: Array<string | null> = [];
  const rows = sqliteOf(tx)
    .prepare(
      `SELECT d.id, d.firmware_version FROM devices d WHERE ${where} AND d.firmware_version IS NOT ?
       AND NOT EXISTS (SELECT 1 FROM deployments dp WHERE dp.device_id = d.id AND dp.state NOT IN ('succeeded', 'failed', 'canceled'))`,
    )
    .raw()
    .iterate(...params, targetVersion) as IterableIterator<[string, string | null]>;
  for (const [id, version] of rows) {
    deviceIds.push(id);
    firmwareVersions.push(version);
  }
  const counts = sqliteOf(tx).prepare(`SELECT count(*) AS total, coalesce(sum(d.firmware_version IS ?), 0) AS alreadyCurrent FROM devices d WHERE ${where}`).get(targetVersion, ...params) as {
    total: number;
    alreadyCurrent: number;
  };
  return { deviceIds, firmwareVersions, alreadyCurrent: counts.alreadyCurrent, busy: counts.total - counts.alreadyCurrent - deviceIds.length };
}

export interface CampaignDeployments {
  campaignId: string;
  buildId: string;
  /** The package a device on this firmware version gets (deployments/policy.ts packageChooser). */
  packageFor: (firmwareVersion: string | null) => string | undefined;
  deviceIds: string[];
  firmwareVersions: Array<string | null>;
  stages: Uint8Array;
  /** Unique per campaign: deployment ids are `dep_<prefix><sequence>`. */
  idPrefix: string;
  createdBy: string;
  now: number;
}

/** Rows per INSERT into the temporary table (3 values each, well under SQLite's 32766). */
const SNAPSHOT_BATCH = 500;

/**
 * One pending deployment per device, with its stage and package (chosen by the caller's
 * rule), in one pass through a temporary table. Each stage's first history entry is made
 * once, so the bulk insert reads nothing but the temporary tables.
 */
export async function insertCampaignDeployments(tx: Tx, input: CampaignDeployments): Promise<number> {
  const client = sqliteOf(tx);
  client.exec('CREATE TEMP TABLE IF NOT EXISTS cohort_rows (seq INTEGER PRIMARY KEY, device_id TEXT NOT NULL, stage INTEGER NOT NULL, package_id TEXT)');
  client.exec('CREATE TEMP TABLE IF NOT EXISTS stage_history (stage INTEGER PRIMARY KEY, history TEXT NOT NULL)');
  client.exec('DELETE FROM temp.cohort_rows; DELETE FROM temp.stage_history');
  const at = new Date(input.now).toISOString();
  const stageCount = input.stages.reduce((max, s) => Math.max(max, s + 1), 0);
  const addHistory = client.prepare('INSERT INTO temp.stage_history (stage, history) VALUES (?, ?)');
  for (let s = 0; s < stageCount; s++) addHistory.run(s, JSON.stringify([{ at, state: 'pending', cause: `campaign ${input.campaignId}, stage ${s + 1}` }]));
  const n = input.deviceIds.length;
  const batch = client.prepare(`INSERT INTO temp.cohort_rows (seq, device_id, stage, package_id) VALUES ${Array(SNAPSHOT_BATCH).fill('(?, ?, ?, ?)').join(', ')}`);
  const one = client.prepare('INSERT INTO temp.cohort_rows (seq, device_id, stage, package_id) VALUES (?, ?, ?, ?)');
  const packageOf = (i: number) => input.packageFor(input.firmwareVersions[i] ?? null) ?? null;
  const values: unknown[] = new Array(SNAPSHOT_BATCH * 4);
  let i = 0;
  for (; i + SNAPSHOT_BATCH <= n; i += SNAPSHOT_BATCH) {
    for (let k = 0; k < SNAPSHOT_BATCH; k++) {
      values[4 * k] = i + k;
      values[4 * k + 1] = input.deviceIds[i + k];
      values[4 * k + 2] = input.stages[i + k] ?? 0;
      values[4 * k + 3] = packageOf(i + k);
    }
    batch.run(values);
  }
  for (; i < n; i++) one.run(i, input.deviceIds[i], input.stages[i] ?? 0, packageOf(i));
  const inserted = client
    .prepare(
      `INSERT INTO deployments (id, device_id, build_id, package_id, state, history, mode, attempts, campaign_id, stage, created_by, created_at, updated_at)
       SELECT 'dep_' || ? || printf('%08x', s.seq), s.device_id, ?, s.package_id, 'pending', h.history,
              'downloadAndUpdate', 0, ?, s.stage, ?, ?, ?
       FROM temp.cohort_rows s JOIN temp.stage_history h ON h.stage = s.stage
       ORDER BY s.seq`,
    )
    .run(input.idPrefix, input.buildId, input.campaignId, input.createdBy, input.now, input.now);
  client.exec('DELETE FROM temp.cohort_rows; DELETE FROM temp.stage_history');
  return inserted.changes;
}

/**
 * Up to `limit` pending deployments of a started stage become scheduled (with a history
 * entry each), and those of devices that can be woken get a Package 0 queued. Returns how
 * many were scheduled. A stage of half a million devices is scheduled a chunk at a time, so
 * no single transaction holds the database (and the server's event loop) for seconds.
 */
export async function scheduleStage(tx: Tx, campaignId: string, stage: number, now: number, notifyEveryDevice: boolean, limit: number): Promise<number> {
  const entry = JSON.stringify({ at: new Date(now).toISOString(), state: 'scheduled', cause: `stage ${stage + 1} started` });
  const deviceIds = preparedSql(
    tx,
    `UPDATE deployments SET state = 'scheduled', history = json_insert(history, '$[#]', json(?)), updated_at = ?
     WHERE rowid IN (SELECT rowid FROM deployments WHERE campaign_id = ? AND stage = ? AND state = 'pending' LIMIT ?)
     RETURNING device_id`,
  )
    .pluck()
    .all(entry, now, campaignId, stage, limit) as string[];
  if (deviceIds.length === 0) return 0;
  preparedSql(
    tx,
    `INSERT INTO notification_queue (device_id, campaign_id, enqueued_at)
     SELECT d.id, ?, ? FROM json_each(?) j JOIN devices d ON d.id = j.value WHERE ? OR d.webhook_url IS NOT NULL`,
  ).run(campaignId, now, JSON.stringify(deviceIds), notifyEveryDevice ? 1 : 0);
  return deviceIds.length;
}

/** Pending and scheduled deployments of the campaign become canceled; returns how many. */
export async function cancelUnstarted(tx: Tx, campaignId: string, now: number, cause: string): Promise<number> {
  const entry = JSON.stringify({ at: new Date(now).toISOString(), state: 'canceled', cause });
  const canceled = preparedSql(
    tx,
    `UPDATE deployments SET state = 'canceled', history = json_insert(history, '$[#]', json(?)), updated_at = ?
     WHERE campaign_id = ? AND state IN ('pending', 'scheduled')`,
  ).run(entry, now, campaignId).changes;
  preparedSql(tx, 'DELETE FROM notification_queue WHERE campaign_id = ?').run(campaignId);
  return canceled;
}

/** Deployments of each stage by state. */
export async function countsByStage(tx: Tx, campaignId: string, stage?: number): Promise<Array<{ stage: number; state: string; n: number }>> {
  return stage === undefined
    ? (preparedSql(tx, 'SELECT stage, state, count(*) AS n FROM deployments WHERE campaign_id = ? GROUP BY stage, state').all(campaignId) as Array<{ stage: number; state: string; n: number }>)
    : (preparedSql(tx, 'SELECT stage, state, count(*) AS n FROM deployments WHERE campaign_id = ? AND stage = ? GROUP BY state').all(campaignId, stage) as Array<{ stage: number; state: string; n: number }>);
}

/** Failed deployments by stage and result code; a null code is a timeout. */
export async function failuresByStage(tx: Tx, campaignId: string, stage?: number): Promise<Array<{ stage: number; code: number | null; n: number }>> {
  const where = stage === undefined ? '' : ' AND stage = ?';
  const params = stage === undefined ? [campaignId] : [campaignId, stage];
  return preparedSql(tx, `SELECT stage, result_code AS code, count(*) AS n FROM deployments WHERE campaign_id = ? AND state = 'failed'${where} GROUP BY stage, result_code ORDER BY n DESC`).all(...params) as Array<{
    stage: number;
    code: number | null;
    n: number;
  }>;
}

export async function bytesServedOf(tx: Tx, campaignId: string): Promise<number> {
  return (preparedSql(tx, 'SELECT coalesce(sum(bytes_served), 0) FROM deployments WHERE campaign_id = ? AND bytes_served > 0').pluck().get(campaignId) as number) ?? 0;
}

/** Deployments of running or paused campaigns that went silent past their campaign's timeout. */
export async function timedOutDeployments(tx: Tx, now: number): Promise<Array<{ id: string; campaignId: string }>> {
  return preparedSql(
    tx,
    `SELECT dp.id, dp.campaign_id AS campaignId FROM campaigns c JOIN deployments dp ON dp.campaign_id = c.id
     WHERE c.state IN ('running', 'paused') AND dp.state IN ('commanded', 'downloading', 'installing') AND dp.updated_at < ? - c.timeout_ms`,
  ).all(now) as Array<{ id: string; campaignId: string }>;
}

/** Up to `limit` queued Package 0s of the given campaigns, removed from the queue as they are taken. */
export async function takeNotifications(tx: Tx, campaignIds: string[], limit: number): Promise<string[]> {
  if (campaignIds.length === 0 || limit <= 0) return [];
  const rows = sqliteOf(tx)
    .prepare(`SELECT seq, device_id FROM notification_queue WHERE campaign_id IN (${campaignIds.map(() => '?').join(',')}) ORDER BY seq LIMIT ?`)
    .raw()
    .all(...campaignIds, limit) as Array<[number, string]>;
  const remove = preparedSql(tx, 'DELETE FROM notification_queue WHERE seq = ?');
  for (const [seq] of rows) remove.run(seq);
  return rows.map(([, deviceId]) => deviceId);
}

export async function dropNotificationsOf(tx: Tx, campaignId: string): Promise<void> {
  preparedSql(tx, 'DELETE FROM notification_queue WHERE campaign_id = ?').run(campaignId);
}

/**
 * Devices matching a dynamic campaign's cohort that have no deployment in it, are in no
 * other running or paused campaign, have no deployment under way and do not run the target.
 */
export async function lateJoiners(tx: Tx, campaignId: string, filter: CohortFilter, targetVersion: string, limit: number): Promise<Array<{ id: string; firmwareVersion: string | null }>> {
  const { where, params } = cohortWhere(filter);
  return sqliteOf(tx)
    .prepare(
      `SELECT d.id, d.firmware_version AS firmwareVersion FROM devices d WHERE ${where}
       AND d.firmware_version IS NOT ?
       AND NOT EXISTS (SELECT 1 FROM deployments dp WHERE dp.device_id = d.id
         AND (dp.campaign_id = ? OR dp.state NOT IN ('succeeded', 'failed', 'canceled')
              OR dp.campaign_id IN (SELECT id FROM campaigns WHERE state IN ('running', 'paused'))))
       LIMIT ?`,
    )
    .all(...params, targetVersion, campaignId, limit) as Array<{ id: string; firmwareVersion: string | null }>;
}
