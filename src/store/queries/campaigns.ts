// Campaign rows, and the bulk statements a campaign needs over its deployments: the
// cohort snapshot, a stage's start, counts by state, timeouts, the Package 0 queue. These
// touch up to millions of rows, so the cohort and bulk ones are raw SQL, written in what
// SQLite and PostgreSQL share and run through dialect.ts inside the caller's transaction
// (they take its tx).
import { and, asc, count, desc, eq, inArray, lt, ne, type SQL, sql } from 'drizzle-orm';
import type { campaigns, campaignStages } from '../schema/index.ts';
import { execute, forUpdate, rows } from '../dialect.ts';
import type { Tx } from '../store.ts';
import { addToStageCounts, BULK_SHARD, type CountChange, keptCountsByStage } from './stage-counts.ts';
import { countWrite } from './write-counts.ts';
import { ONE_ACTIVE_PER_DEVICE } from './deployments.ts';
import { preparedPer, preparedRead } from './prepared.ts';

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
  /** Devices whose deployment in this campaign succeeded (a rollback's cohort, of any size). */
  updatedByCampaign?: string;
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

/**
 * Prepared once per list of states (a handful: the loop's and the join's): the join of
 * devices seen in DM sessions reads the running campaigns after every batch of messages,
 * and compiling the statement each time cost more than running it (bench/dm.ts).
 */
const campaignsInStates = new Map<string, ReturnType<typeof campaignsInQuery>>();
const campaignsInQuery = (states: CampaignState[]) => preparedRead(({ q, t }) => q.select().from(t.campaigns).where(inArray(t.campaigns.state, states)).prepare());

export async function campaignsIn(tx: Tx, states: CampaignState[]): Promise<CampaignRow[]> {
  const key = states.join(',');
  let statement = campaignsInStates.get(key);
  if (statement === undefined) {
    statement = campaignsInQuery([...states]);
    campaignsInStates.set(key, statement);
  }
  return statement(tx).execute();
}

export async function updateCampaign(tx: Tx, id: string, changes: Partial<typeof campaigns.$inferInsert>): Promise<void> {
  const { campaigns } = tx.t;
  await tx.q.update(campaigns).set(changes).where(eq(campaigns.id, id));
}

/** Counts `n` more devices left out for their security version (deployments/security-hold.ts): one statement, no read. */
export async function addSecurityHeld(tx: Tx, id: string, n: number, now: number): Promise<void> {
  const { campaigns } = tx.t;
  await tx.q.update(campaigns).set({ securityHeld: sql`${campaigns.securityHeld} + ${n}`, updatedAt: now }).where(eq(campaigns.id, id));
}

export async function updateStage(tx: Tx, campaignId: string, index: number, changes: Partial<typeof campaignStages.$inferInsert>): Promise<void> {
  const { campaignStages } = tx.t;
  await tx.q
    .update(campaignStages)
    .set(changes)
    .where(and(eq(campaignStages.campaignId, campaignId), eq(campaignStages.index, index)));
}

// ---------------------------------------------------------------------------------------
// The cohort and the bulk statements

/** `column IN (values)`; an empty list matches nothing (PostgreSQL refuses `IN ()`). */
function isIn(column: SQL, values: readonly string[]): SQL {
  return values.length === 0 ? sql`1 = 0` : sql`${column} IN ${values}`;
}

/**
 * Whether a JSON array of strings as JSON.stringify writes it (devices.tags: no spaces)
 * holds `value`, without json_* functions (they differ between the dialects). Every element
 * follows '[' or ',', and a '"' right after ',' always opens an element (inside a string a
 * quote is escaped), so with the '[' made a ',' the element is the text ',<value as JSON>'
 * (its closing quote ends the element). replace() compares case-sensitively on both
 * dialects, as tags compare; SQLite's LIKE would not.
 */
export function jsonArrayHas(column: SQL, value: string): SQL {
  const elements = sql`(',' || substr(${column}, 2))`;
  return sql`replace(${elements}, ${`,${JSON.stringify(value)}`}, '') <> ${elements}`;
}

/** A JSON array's text (JSON.stringify'd, as deployments.history is) with `element` (JSON text) appended. */
function appendJson(column: SQL, element: string): SQL {
  return sql`CASE WHEN ${column} = '[]' THEN '[' || ${element} || ']' ELSE substr(${column}, 1, length(${column}) - 1) || ',' || ${element} || ']' END`;
}

/** A device whose firmware is not `version` (also one that never reported any). */
function notOn(version: string): SQL {
  return sql`(d.firmware_version IS NULL OR d.firmware_version <> ${version})`;
}

/**
 * The cohort as a condition over `devices d`. `inIdOrder`: for a walk in id order, the
 * version is compared as an expression, so SQLite takes devices_model_id (no sort per
 * page) instead of devices_model_version (same rows; a NULL version matches neither way).
 */
function cohortWhere(filter: CohortFilter, options: { inIdOrder?: boolean } = {}): SQL {
  const clauses = [sql`d.model = ${filter.model}`];
  if (filter.versions) clauses.push(isIn(options.inIdOrder ? sql`(d.firmware_version || '')` : sql`d.firmware_version`, filter.versions));
  for (const tag of filter.tags ?? []) clauses.push(jsonArrayHas(sql`d.tags`, tag));
  if (filter.deviceIds) clauses.push(isIn(sql`d.id`, filter.deviceIds));
  if (filter.updatedByCampaign !== undefined) {
    // Not correlated: SQLite builds the set once per statement (an EXISTS per device was
    // planned over deployments_state, every succeeded deployment read again per device).
    // The state as an expression, so the set is read through the campaign's rows only
    // (a campaign_id index), not through every succeeded deployment of every campaign.
    clauses.push(sql`d.id IN (SELECT ud.device_id FROM deployments ud WHERE ud.campaign_id = ${filter.updatedByCampaign} AND (ud.state || '') = 'succeeded')`);
  }
  return sql.join(clauses, sql` AND `);
}

/** Matching devices by firmware version ('' for devices that never reported one). */
export async function cohortByVersion(tx: Tx, filter: CohortFilter): Promise<Map<string, number>> {
  const found = await rows<{ version: string; n: number | string }>(
    tx,
    sql`SELECT coalesce(d.firmware_version, '') AS version, count(*) AS n FROM devices d WHERE ${cohortWhere(filter)} GROUP BY coalesce(d.firmware_version, '')`,
  );
  return new Map(found.map((r) => [r.version, Number(r.n)]));
}

/** Campaigns that hold their devices: a device is in one of them at a time. */
export const HOLDING_CAMPAIGN_STATES: CampaignState[] = ['starting', 'running', 'paused'];

/**
 * Cohort devices that have a deployment in a starting, running or paused campaign, by
 * campaign (excluding `except`). A starting campaign also holds the devices its start has
 * not reached yet: campaigns/membership.ts counts those, and makes the check and the start
 * it guards atomic on PostgreSQL.
 */
export async function cohortInOtherCampaigns(tx: Tx, filter: CohortFilter, except?: string): Promise<Array<{ campaignId: string; devices: number }>> {
  const { campaigns } = tx.t;
  const active = await tx.q
    .select({ id: campaigns.id })
    .from(campaigns)
    .where(and(inArray(campaigns.state, HOLDING_CAMPAIGN_STATES), ne(campaigns.id, except ?? '')));
  const found: Array<{ campaignId: string; devices: number }> = [];
  // Per active campaign (there are few), so the scan runs over that campaign's rows.
  for (const { id } of active) {
    const n = await cohortDevicesIn(tx, filter, id);
    if (n > 0) found.push({ campaignId: id, devices: n });
  }
  return found;
}

/** Cohort devices that have a deployment in the campaign. */
export async function cohortDevicesIn(tx: Tx, filter: CohortFilter, campaignId: string): Promise<number> {
  const [row] = await rows<{ n: number | string }>(tx, sql`SELECT count(DISTINCT dp.device_id) AS n FROM deployments dp JOIN devices d ON d.id = dp.device_id WHERE dp.campaign_id = ${campaignId} AND ${cohortWhere(filter)}`);
  return Number(row?.n ?? 0);
}

/**
 * Cohort devices a starting campaign (cohort `heldFilter`) holds: those it placed, and those
 * of its cohort after its start's cursor. One statement, so one snapshot on PostgreSQL: a
 * chunk committed meanwhile (placed devices and the cursor past them) is seen whole or not
 * at all, never the cursor without the devices. A start that finished meanwhile (cursor
 * cleared) counts its whole cohort: more than it placed, never less.
 */
export async function cohortHeldByStarting(tx: Tx, filter: CohortFilter, campaignId: string, heldFilter: CohortFilter): Promise<number> {
  const [row] = await rows<{ n: number | string }>(
    tx,
    sql`SELECT count(*) AS n FROM devices d WHERE ${cohortWhere(filter)}
          AND (EXISTS (SELECT 1 FROM deployments dp WHERE dp.device_id = d.id AND dp.campaign_id = ${campaignId})
               OR (${cohortWhere(heldFilter)} AND d.id > (SELECT coalesce(c.start_cursor, '') FROM campaigns c WHERE c.id = ${campaignId})))`,
  );
  return Number(row?.n ?? 0);
}

export interface CohortPageRow {
  id: string;
  firmwareVersion: string | null;
  /** A deployment is under way on the device (a one-device one, or another campaign's). */
  busy: boolean;
}

/**
 * Up to `limit` devices of the cohort with ids after `after`, in id order: a start walks the
 * cohort a page at a time (keyset on the primary key), so no statement reads a million rows.
 */
export async function cohortPage(tx: Tx, filter: CohortFilter, after: string, limit: number): Promise<CohortPageRow[]> {
  const found = await rows<{ id: string; firmwareVersion: string | null; busy: number | string }>(
    tx,
    sql`SELECT d.id, d.firmware_version AS "firmwareVersion",
               CASE WHEN EXISTS (SELECT 1 FROM deployments dp WHERE dp.device_id = d.id AND dp.state NOT IN ('succeeded', 'failed', 'canceled')) THEN 1 ELSE 0 END AS busy
        FROM devices d WHERE ${cohortWhere(filter, { inIdOrder: true })} AND d.id > ${after} ORDER BY d.id LIMIT ${limit}`,
  );
  return found.map((r) => ({ id: r.id, firmwareVersion: r.firmwareVersion, busy: Number(r.busy) === 1 }));
}

/** Whether any device matches the cohort (one row read at most). */
export async function cohortHasDevices(tx: Tx, filter: CohortFilter): Promise<boolean> {
  return (await rows<{ id: string }>(tx, sql`SELECT d.id FROM devices d WHERE ${cohortWhere(filter)} LIMIT 1`)).length > 0;
}

export interface CampaignDeployments {
  campaignId: string;
  /** The build a firmware campaign delivers, or null with the profile version a configuration campaign applies. */
  buildId: string | null;
  profileVersionId?: string | null;
  /** The devices and the stage of each. */
  devices: ReadonlyArray<{ id: string; stage: number }>;
  /** Deployment ids are `dep_<idPrefix><sequence>`; this page's sequence numbers start here. */
  idPrefix: string;
  firstSeq: number;
  createdBy: string;
  now: number;
}

/** Rows per INSERT (3 parameters each: well under SQLite's 32766 and PostgreSQL's 65535). */
const INSERT_BATCH = 1000;

/**
 * `(?, ?, ...), (?, ?, ...)` for `params.length / width` rows: one SQL built from one flat
 * list, since building a nested SQL per row cost more than inserting it (bench:campaign).
 */
function valueRows(params: unknown[], width: number): SQL {
  const strings = ['('];
  for (let i = 1; i <= params.length; i++) strings.push(i === params.length ? ')' : i % width === 0 ? '), (' : ', ');
  return sql(Object.assign(strings, { raw: strings }), ...params);
}

/**
 * One pending deployment per device, in its stage, with no package yet: the package is
 * chosen when the device is commanded, against the firmware it reports then
 * (deployments/fumo.ts). Each row carries only what differs per device (id suffix, device,
 * stage); the rest, each stage's first history entry included, is given once per statement.
 * CAST: on PostgreSQL the VALUES columns are text. A device that got a deployment under way
 * since it was read (a one-device deployment, another campaign's start, on PostgreSQL) is
 * left out by the database (ON CONFLICT; `WHERE true` lets SQLite parse it after a
 * SELECT): the count returned is of the rows inserted.
 */
export async function insertCampaignDeployments(tx: Tx, input: CampaignDeployments): Promise<number> {
  countWrite(tx, 'deployments');
  const at = new Date(input.now).toISOString();
  const stageCount = input.devices.reduce((max, d) => Math.max(max, d.stage + 1), 0);
  const history = sql.join(
    Array.from({ length: stageCount }, (_, s) => sql` WHEN ${s} THEN ${JSON.stringify([{ at, state: 'pending', cause: `campaign ${input.campaignId}, stage ${s + 1}` }])}`),
    sql``,
  );
  const stage = sql`CAST(v.stage AS INTEGER)`;
  let inserted = 0;
  const perStage = new Map<number, number>();
  // Each statement's rows are of one stage (callers pass them sorted by stage), so the
  // count it returns is that stage's: the kept counts take only the rows inserted.
  for (let i = 0; i < input.devices.length; ) {
    const params: unknown[] = [];
    const batchStage = input.devices[i]?.stage ?? 0;
    let k = i;
    for (; k < Math.min(i + INSERT_BATCH, input.devices.length); k++) {
      const device = input.devices[k];
      if (!device || device.stage !== batchStage) break;
      params.push((input.firstSeq + k).toString(16).padStart(8, '0'), device.id, device.stage);
    }
    i = k;
    const n = await execute(
      tx,
      sql`WITH v (seq, device_id, stage) AS (VALUES ${valueRows(params, 3)})
          INSERT INTO deployments (id, device_id, build_id, profile_version_id, package_id, state, history, mode, attempts, campaign_id, stage, created_by, created_at, updated_at)
          SELECT ${`dep_${input.idPrefix}`} || v.seq, v.device_id, ${input.buildId}, ${input.profileVersionId ?? null}, NULL, 'pending', CASE ${stage}${history} END,
                 'downloadAndUpdate', 0, ${input.campaignId}, ${stage}, ${input.createdBy}, ${input.now}, ${input.now}
          FROM v WHERE true
          ON CONFLICT ${ONE_ACTIVE_PER_DEVICE} DO NOTHING`,
    );
    inserted += n;
    perStage.set(batchStage, (perStage.get(batchStage) ?? 0) + n);
  }
  await addToStageCounts(tx, input.campaignId, [...perStage].map(([s, n]) => ({ stage: s, state: 'pending', n })), BULK_SHARD);
  return inserted;
}

/** The stage of each of these devices' deployment in the campaign (those that have one). */
export async function placedStagesOf(tx: Tx, campaignId: string, deviceIds: string[]): Promise<Map<string, number>> {
  const placed = new Map<string, number>();
  for (let i = 0; i < deviceIds.length; i += NOTIFY_BATCH) {
    const found = await rows<{ deviceId: string; stage: number | string }>(
      tx,
      sql`SELECT device_id AS "deviceId", stage FROM deployments WHERE campaign_id = ${campaignId} AND ${isIn(sql`device_id`, deviceIds.slice(i, i + NOTIFY_BATCH))}`,
    );
    for (const r of found) placed.set(r.deviceId, Number(r.stage));
  }
  return placed;
}

/** Devices looked up per statement when queuing Package 0 (one parameter each). */
const NOTIFY_BATCH = 500;

/**
 * Up to `limit` pending deployments of a started stage become scheduled (with a history
 * entry each), and those of devices that can be woken get a Package 0 queued. Returns how
 * many were scheduled. A stage of half a million devices is scheduled a chunk at a time, so
 * no single transaction holds the database (and the server's event loop) for seconds.
 * The chunk's rows are locked (forUpdate, skipLocked): two processes filling the same stage
 * take different rows.
 */
export async function scheduleStage(tx: Tx, campaignId: string, stage: number, now: number, notifyEveryDevice: boolean, limit: number): Promise<number> {
  countWrite(tx, 'deployments');
  const { deployments } = tx.t;
  const entry = JSON.stringify({ at: new Date(now).toISOString(), state: 'scheduled', cause: `stage ${stage + 1} started` });
  const chunk = forUpdate(
    tx,
    tx.q
      .select({ id: deployments.id })
      .from(deployments)
      .where(and(eq(deployments.campaignId, campaignId), eq(deployments.stage, stage), eq(deployments.state, 'pending')))
      .limit(limit),
    { skipLocked: true },
  );
  // Every row of the chunk is pending until the UPDATE: locked as it was read (PostgreSQL),
  // or read in this transaction (SQLite). So the count moved is of rows that were pending.
  // (A state named outside the subquery as well led PostgreSQL to a plan that took minutes.)
  const scheduled = await rows<{ deviceId: string }>(
    tx,
    sql`UPDATE deployments SET state = 'scheduled', history = ${appendJson(sql`history`, entry)}, updated_at = ${now} WHERE id IN ${chunk} RETURNING device_id AS "deviceId"`,
  );
  await addToStageCounts(
    tx,
    campaignId,
    [
      { stage, state: 'pending', n: -scheduled.length },
      { stage, state: 'scheduled', n: scheduled.length },
    ],
    BULK_SHARD,
  );
  const wakeable = notifyEveryDevice ? sql`` : sql` AND d.webhook_url IS NOT NULL`;
  for (let i = 0; i < scheduled.length; i += NOTIFY_BATCH) {
    const deviceIds = scheduled.slice(i, i + NOTIFY_BATCH).map((r) => r.deviceId);
    await execute(tx, sql`INSERT INTO notification_queue (device_id, campaign_id, enqueued_at) SELECT d.id, ${campaignId}, ${now} FROM devices d WHERE ${isIn(sql`d.id`, deviceIds)}${wakeable}`);
  }
  return scheduled.length;
}

/**
 * Up to `limit` pending and scheduled deployments of the campaign become canceled, and up
 * to `limit` of its queued Package 0s are dropped; returns how many deployments. An abort of
 * a million-device campaign runs this a chunk per transaction until it returns less than
 * `limit`.
 */
export async function cancelUnstarted(tx: Tx, campaignId: string, now: number, cause: string, limit: number): Promise<number> {
  countWrite(tx, 'deployments');
  const entry = JSON.stringify({ at: new Date(now).toISOString(), state: 'canceled', cause });
  // One stage and state per statement: it reads the index on (campaign, stage, state) from
  // where that state begins, not past the rows canceled by earlier chunks, and the rows it
  // changes were all in that state, locked as they were read (PostgreSQL: a DM session that
  // moved one first is waited for, and the row skipped if it left the state), which the
  // kept counts move. The stages are found in the same index, one lookup each (the rows,
  // not the stage rows or the kept counts, say where unstarted deployments may be).
  const { deployments } = tx.t;
  const changes: CountChange[] = [];
  let canceled = 0;
  for (let stage = await nextStageOf(tx, campaignId, 0); stage !== undefined && canceled < limit; stage = await nextStageOf(tx, campaignId, stage + 1)) {
    for (const from of ['pending', 'scheduled'] as const) {
      if (canceled >= limit) break;
      const chunk = forUpdate(
        tx,
        tx.q
          .select({ id: deployments.id })
          .from(deployments)
          .where(and(eq(deployments.campaignId, campaignId), eq(deployments.stage, stage), eq(deployments.state, from)))
          .limit(limit - canceled),
      );
      const n = await execute(tx, sql`UPDATE deployments SET state = 'canceled', history = ${appendJson(sql`history`, entry)}, updated_at = ${now} WHERE id IN ${chunk}`);
      canceled += n;
      changes.push({ stage, state: from, n: -n }, { stage, state: 'canceled', n });
    }
  }
  await addToStageCounts(tx, campaignId, changes, BULK_SHARD);
  await execute(tx, sql`DELETE FROM notification_queue WHERE seq IN (SELECT seq FROM notification_queue WHERE campaign_id = ${campaignId} LIMIT ${limit})`);
  return canceled;
}

/** The campaign's first stage from `from` on that has deployments, if any. */
async function nextStageOf(tx: Tx, campaignId: string, from: number): Promise<number | undefined> {
  const [row] = await rows<{ stage: number | string }>(tx, sql`SELECT stage FROM deployments WHERE campaign_id = ${campaignId} AND stage >= ${from} ORDER BY stage LIMIT 1`);
  return row === undefined ? undefined : Number(row.stage);
}

/** Deployments of each stage (or of one) by state: the counts their writers keep (stage-counts.ts), not a count of the rows. */
export const countsByStage = keptCountsByStage;

/**
 * Failed deployments by stage and result code, the most frequent first within a stage; a
 * null code is a timeout. A stage at a time: the index on (campaign, stage, state) then
 * leads straight to the stage's failed rows, where one query over all stages read every
 * entry of the campaign (a million: 0.4 s in bench:campaign) to find them.
 */
export async function failuresByStage(tx: Tx, campaignId: string, stage?: number): Promise<Array<{ stage: number; code: number | null; n: number }>> {
  if (stage !== undefined) return failuresOfStage(tx, campaignId, stage);
  const found: Array<{ stage: number; code: number | null; n: number }> = [];
  for (let s = await nextStageOf(tx, campaignId, 0); s !== undefined; s = await nextStageOf(tx, campaignId, s + 1)) found.push(...(await failuresOfStage(tx, campaignId, s)));
  return found;
}

async function failuresOfStage(tx: Tx, campaignId: string, stage: number): Promise<Array<{ stage: number; code: number | null; n: number }>> {
  const { deployments } = tx.t;
  const n = count();
  const found = await tx.q
    .select({ code: deployments.resultCode, n })
    .from(deployments)
    .where(and(eq(deployments.campaignId, campaignId), eq(deployments.stage, stage), eq(deployments.state, 'failed')))
    .groupBy(deployments.resultCode)
    .orderBy(desc(n));
  return found.map((r) => ({ stage, code: r.code, n: r.n }));
}

export async function bytesServedOf(tx: Tx, campaignId: string): Promise<number> {
  const { deployments } = tx.t;
  const [row] = await tx.q
    .select({ bytes: sql<number>`coalesce(sum(${deployments.bytesServed}), 0)`.mapWith(Number) })
    .from(deployments)
    // A literal 0, not a parameter: only then can SQLite see the partial index on bytes_served > 0 applies.
    .where(and(eq(deployments.campaignId, campaignId), sql`${deployments.bytesServed} > 0`));
  return row?.bytes ?? 0;
}

/** Deployments of running or paused campaigns that went silent past their campaign's timeout. */
export async function timedOutDeployments(tx: Tx, now: number): Promise<Array<{ id: string; campaignId: string }>> {
  const { campaigns, deployments } = tx.t;
  return tx.q
    .select({ id: deployments.id, campaignId: campaigns.id })
    .from(campaigns)
    .innerJoin(deployments, eq(deployments.campaignId, campaigns.id))
    .where(
      and(
        inArray(campaigns.state, ACTIVE_CAMPAIGN_STATES),
        inArray(deployments.state, ['commanded', 'downloading', 'installing']),
        lt(deployments.updatedAt, sql`${now} - ${campaigns.timeoutMs}`),
      ),
    );
}

/**
 * Up to `limit` queued Package 0s of the given campaigns, removed from the queue as they
 * are taken. Locked (forUpdate, skipLocked): two senders never take the same one.
 */
export async function takeNotifications(tx: Tx, campaignIds: string[], limit: number): Promise<string[]> {
  if (campaignIds.length === 0 || limit <= 0) return [];
  const { notificationQueue } = tx.t;
  const taken = await forUpdate(
    tx,
    tx.q
      .select({ seq: notificationQueue.seq, deviceId: notificationQueue.deviceId })
      .from(notificationQueue)
      .where(inArray(notificationQueue.campaignId, campaignIds))
      .orderBy(asc(notificationQueue.seq))
      .limit(limit),
    { skipLocked: true },
  );
  if (taken.length > 0) await tx.q.delete(notificationQueue).where(inArray(notificationQueue.seq, taken.map((r) => r.seq)));
  return taken.map((r) => r.deviceId);
}

export async function dropNotificationsOf(tx: Tx, campaignId: string): Promise<void> {
  const { notificationQueue } = tx.t;
  await tx.q.delete(notificationQueue).where(eq(notificationQueue.campaignId, campaignId));
}

/**
 * Devices matching a dynamic campaign's cohort that have no deployment in it, are in no
 * other running or paused campaign, have no deployment under way and do not run the target.
 * On PostgreSQL a device found free here may be taken meanwhile (another campaign's start,
 * a one-device deployment): the insert then leaves it out (insertDeploymentIfFree).
 */
export async function lateJoiners(tx: Tx, campaignId: string, filter: CohortFilter, targetVersion: string, limit: number, heldVersions: readonly string[] = []): Promise<Array<{ id: string; firmwareVersion: string | null }>> {
  // Devices on a version whose build has a higher securityVersion never join (campaigns/security-hold.ts).
  const held = heldVersions.length === 0 ? sql`1 = 1` : sql`(d.firmware_version IS NULL OR d.firmware_version NOT IN (${sql.join(heldVersions.map((v) => sql`${v}`), sql`, `)}))`;
  return rows<{ id: string; firmwareVersion: string | null }>(
    tx,
    sql`SELECT d.id, d.firmware_version AS "firmwareVersion" FROM devices d WHERE ${cohortWhere(filter)} AND ${notOn(targetVersion)} AND ${held}
        AND NOT EXISTS (SELECT 1 FROM deployments dp WHERE dp.device_id = d.id
          AND (dp.campaign_id = ${campaignId} OR dp.state NOT IN ('succeeded', 'failed', 'canceled')
               OR dp.campaign_id IN (SELECT id FROM campaigns WHERE state IN ('running', 'paused'))))
        LIMIT ${limit}`,
  );
}
