// PostgreSQL twin of ../schema/campaigns.ts: the same tables, columns and indexes (test/store/schemas.test.ts).
// Campaigns: one build rolled out to a cohort of devices in stages. Each device of the
// cohort gets a deployment row (deployments.campaign_id, .stage) when the campaign starts;
// the stage rows hold what the engine decided (started, approved, threshold met).
import { bigint, bigserial, boolean, doublePrecision, index, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { builds } from './builds.ts';

export const campaigns = pgTable(
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
    currentStage: bigint('current_stage', { mode: 'number' }).notNull().default(0),
    successThreshold: doublePrecision('success_threshold').notNull(),
    failureThreshold: doublePrecision('failure_threshold').notNull(),
    minSample: bigint('min_sample', { mode: 'number' }).notNull(),
    /** Wait this long after a stage meets its success threshold before the next one. */
    soakMs: bigint('soak_ms', { mode: 'number' }).notNull().default(0),
    /** A deployment commanded, downloading or installing with no news this long fails ('timeout'). */
    timeoutMs: bigint('timeout_ms', { mode: 'number' }).notNull(),
    /** Four eyes: the approver of a stage must not be the campaign's creator. */
    fourEyes: boolean('four_eyes').notNull().default(false),
    /** Devices that match the cohort after the start join the running campaign. */
    dynamic: boolean('dynamic').notNull().default(false),
    /** Maintenance window as JSON {timeZone, days, start, end}, or null: any time. */
    window: text('window'),
    pausedReason: text('paused_reason'),
    /** Why it is paused: 'operator', 'failures' (threshold passed), 'below-success' (stage settled short). */
    pauseKind: text('pause_kind'),
    /** Devices in the snapshot, and cohort devices left out because they already run the target. */
    cohortSize: bigint('cohort_size', { mode: 'number' }).notNull().default(0),
    alreadyCurrent: bigint('already_current', { mode: 'number' }).notNull().default(0),
    /** Cohort devices left out because a one-device deployment was under way on them. */
    busy: bigint('busy', { mode: 'number' }).notNull().default(0),
    /** Cohort devices left out because they run a build of higher securityVersion (campaigns/security-hold.ts). */
    securityHeld: bigint('security_held', { mode: 'number' }).notNull().default(0),
    createdBy: text('created_by').notNull(),
    createdByName: text('created_by_name').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    startedAt: bigint('started_at', { mode: 'number' }),
    finishedAt: bigint('finished_at', { mode: 'number' }),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
    /** A draft to be started by the engine at this time (ms), for the operator who scheduled it; null: started by hand. */
    startAt: bigint('start_at', { mode: 'number' }),
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
    bandwidthBytesPerSecond: bigint('bandwidth_bytes_per_second', { mode: 'number' }),
    /**
     * While 'starting': the stage bounds (JSON [{hash, id}], from a scan of the cohort) and
     * the last device id given a deployment; the start goes on after it in chunks.
     */
    startBounds: text('start_bounds'),
    startCursor: text('start_cursor'),
    /** When the engine last looked for devices that joined a dynamic cohort. */
    joinScanAt: bigint('join_scan_at', { mode: 'number' }),
  },
  (t) => [index('campaigns_state').on(t.state)],
);

export const campaignStages = pgTable(
  'campaign_stages',
  {
    campaignId: text('campaign_id')
      .notNull()
      .references(() => campaigns.id),
    index: bigint('idx', { mode: 'number' }).notNull(),
    /** Cumulative share of the cohort updated once this stage is done (10, 50, 100). */
    percent: doublePrecision('percent').notNull(),
    requiresApproval: boolean('requires_approval').notNull().default(false),
    state: text('state', { enum: ['pending', 'awaitingApproval', 'running', 'done'] }).notNull().default('pending'),
    /** Devices assigned to this stage at the start (dynamic joiners add to it). */
    size: bigint('size', { mode: 'number' }).notNull().default(0),
    startedAt: bigint('started_at', { mode: 'number' }),
    /** When the success threshold was first met (the soak time counts from here). */
    thresholdMetAt: bigint('threshold_met_at', { mode: 'number' }),
    approvedBy: text('approved_by'),
    approvedByName: text('approved_by_name'),
    approvedAt: bigint('approved_at', { mode: 'number' }),
    /**
     * Results the operator accepted by resuming after an automatic pause: the failure
     * threshold judges only the results that came after.
     */
    acceptedFailed: bigint('accepted_failed', { mode: 'number' }).notNull().default(0),
    acceptedResults: bigint('accepted_results', { mode: 'number' }).notNull().default(0),
    /** The operator resumed a stage that settled below its success threshold: move on. */
    forced: boolean('forced').notNull().default(false),
  },
  (t) => [primaryKey({ columns: [t.campaignId, t.index] })],
);

/** See ../schema/campaigns.ts: a campaign's deployments per stage and state, kept by their writers, summed over shards. */
export const campaignStageCounts = pgTable(
  'campaign_stage_counts',
  {
    campaignId: text('campaign_id').notNull(),
    stage: bigint('stage', { mode: 'number' }).notNull(),
    state: text('state').notNull(),
    shard: bigint('shard', { mode: 'number' }).notNull(),
    n: bigint('n', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.campaignId, t.stage, t.state, t.shard] })],
);

/** Package 0 notifications owed to devices of a started stage, sent at a bounded rate. */
export const notificationQueue = pgTable('notification_queue', {
  seq: bigserial('seq', { mode: 'number' }).primaryKey(),
  deviceId: text('device_id').notNull(),
  campaignId: text('campaign_id').notNull(),
  enqueuedAt: bigint('enqueued_at', { mode: 'number' }).notNull(),
});
