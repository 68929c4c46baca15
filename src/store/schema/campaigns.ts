// Campaigns: one build rolled out to a cohort of devices in stages. Each device of the
// cohort gets a deployment row (deployments.campaign_id, .stage) when the campaign starts;
// the stage rows hold what the engine decided (started, approved, threshold met).
import { index, integer, primaryKey, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { builds } from './builds.ts';

export const campaigns = sqliteTable(
  'campaigns',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    /** The build a firmware campaign delivers; null for a configuration campaign. */
    buildId: text('build_id').references(() => builds.id),
    /** What the campaign delivers: a firmware build (FUMO), a configuration profile version (profiles/) or an application operation (SCOMO). */
    kind: text('kind', { enum: ['firmware', 'configuration', 'application'] }).notNull().default('firmware'),
    /** The profile version a configuration campaign applies (profile_versions.id); null for firmware. */
    profileVersionId: text('profile_version_id'),
    /** An application campaign's SCOMO operation on appComponent (campaigns/create-application.ts); null otherwise. */
    appOperation: text('app_operation', { enum: ['install', 'remove', 'activate', 'deactivate'] }),
    appComponent: text('app_component'),
    /** The application version an install delivers (app_versions.id); null for the other operations. */
    appVersionId: text('app_version_id'),
    model: text('model').notNull(),
    /** The cohort filter as JSON: {model?, versions?, tags?, deviceIds?}. */
    cohort: text('cohort').notNull(),
    state: text('state', { enum: ['draft', 'starting', 'running', 'paused', 'completed', 'aborted'] }).notNull(),
    /** Index of the stage under way (or awaiting approval). */
    currentStage: integer('current_stage').notNull().default(0),
    successThreshold: real('success_threshold').notNull(),
    failureThreshold: real('failure_threshold').notNull(),
    minSample: integer('min_sample').notNull(),
    /** Wait this long after a stage meets its success threshold before the next one. */
    soakMs: integer('soak_ms').notNull().default(0),
    /** A deployment commanded, downloading or installing with no news this long fails ('timeout'). */
    timeoutMs: integer('timeout_ms').notNull(),
    /** Four eyes: the approver of a stage must not be the campaign's creator. */
    fourEyes: integer('four_eyes', { mode: 'boolean' }).notNull().default(false),
    /** Devices that match the cohort after the start join the running campaign. */
    dynamic: integer('dynamic', { mode: 'boolean' }).notNull().default(false),
    /** Maintenance window as JSON {timeZone, days, start, end}, or null: any time. */
    window: text('window'),
    pausedReason: text('paused_reason'),
    /** Why it is paused: 'operator', 'failures' (threshold passed), 'below-success' (stage settled short). */
    pauseKind: text('pause_kind'),
    /** Devices in the snapshot, and cohort devices left out because they already run the target. */
    cohortSize: integer('cohort_size').notNull().default(0),
    alreadyCurrent: integer('already_current').notNull().default(0),
    /** Cohort devices left out because a one-device deployment was under way on them. */
    busy: integer('busy').notNull().default(0),
    /** Cohort devices left out because they run a build of higher securityVersion (campaigns/security-hold.ts). */
    securityHeld: integer('security_held').notNull().default(0),
    createdBy: text('created_by').notNull(),
    createdByName: text('created_by_name').notNull(),
    createdAt: integer('created_at').notNull(),
    startedAt: integer('started_at'),
    finishedAt: integer('finished_at'),
    updatedAt: integer('updated_at').notNull(),
    /** A draft to be started by the engine at this time (ms), for the operator who scheduled it; null: started by hand. */
    startAt: integer('start_at'),
    scheduledBy: text('scheduled_by'),
    scheduledByName: text('scheduled_by_name'),
    /** Forced: devices are commanded outside the maintenance window; why (required, audited). Null: the window holds. */
    forcedReason: text('forced_reason'),
    /**
     * How devices are updated: install (one DownloadAndUpdate Exec, in the window), twoStep
     * (Download at once, the Update Exec when the window opens), downloadOnly (Download, then
     * wait until an operator lets the campaign install: it becomes twoStep).
     */
    mode: text('mode', { enum: ['install', 'twoStep', 'downloadOnly'] }).notNull().default('install'),
    /** Download budget for the whole campaign, bytes per second (per server process); null: none. */
    bandwidthBytesPerSecond: integer('bandwidth_bytes_per_second'),
    /**
     * While 'starting': the stage bounds (JSON [{hash, id}], from a scan of the cohort) and
     * the last device id given a deployment; the start goes on after it in chunks.
     */
    startBounds: text('start_bounds'),
    startCursor: text('start_cursor'),
    /** When the engine last looked for devices that joined a dynamic cohort. */
    joinScanAt: integer('join_scan_at'),
  },
  (t) => [index('campaigns_state').on(t.state)],
);

export const campaignStages = sqliteTable(
  'campaign_stages',
  {
    campaignId: text('campaign_id')
      .notNull()
      .references(() => campaigns.id),
    index: integer('idx').notNull(),
    /** Cumulative share of the cohort updated once this stage is done (10, 50, 100). */
    percent: real('percent').notNull(),
    requiresApproval: integer('requires_approval', { mode: 'boolean' }).notNull().default(false),
    state: text('state', { enum: ['pending', 'awaitingApproval', 'running', 'done'] }).notNull().default('pending'),
    /** Devices assigned to this stage at the start (dynamic joiners add to it). */
    size: integer('size').notNull().default(0),
    startedAt: integer('started_at'),
    /** When the success threshold was first met (the soak time counts from here). */
    thresholdMetAt: integer('threshold_met_at'),
    approvedBy: text('approved_by'),
    approvedByName: text('approved_by_name'),
    approvedAt: integer('approved_at'),
    /**
     * Results the operator accepted by resuming after an automatic pause: the failure
     * threshold judges only the results that came after.
     */
    acceptedFailed: integer('accepted_failed').notNull().default(0),
    acceptedResults: integer('accepted_results').notNull().default(0),
    /** The operator resumed a stage that settled below its success threshold: move on. */
    forced: integer('forced', { mode: 'boolean' }).notNull().default(false),
  },
  (t) => [primaryKey({ columns: [t.campaignId, t.index] })],
);

/**
 * How many of a campaign's deployments are in each stage and state, kept by every write
 * that inserts a campaign deployment or changes its state, in the same transaction
 * (store/queries/stage-counts.ts): the console and the engine read a stage's counts here
 * instead of counting a million rows. A count is the sum over its shards. Bulk work (a
 * start's or a stage's chunk, an abort) adds to shard 0; a single deployment's change adds
 * to a shard drawn from its id, so on PostgreSQL the DM sessions of one stage do not all
 * wait for one row's lock. A shard's own figure may be negative (a deployment inserted in
 * shard 0 and moved on in another); only the sums mean anything.
 */
export const campaignStageCounts = sqliteTable(
  'campaign_stage_counts',
  {
    campaignId: text('campaign_id').notNull(),
    stage: integer('stage').notNull(),
    state: text('state').notNull(),
    shard: integer('shard').notNull(),
    n: integer('n').notNull(),
  },
  (t) => [primaryKey({ columns: [t.campaignId, t.stage, t.state, t.shard] })],
);

/** Package 0 notifications owed to devices of a started stage, sent at a bounded rate. */
export const notificationQueue = sqliteTable('notification_queue', {
  seq: integer('seq').primaryKey({ autoIncrement: true }),
  deviceId: text('device_id').notNull(),
  campaignId: text('campaign_id').notNull(),
  enqueuedAt: integer('enqueued_at').notNull(),
});
