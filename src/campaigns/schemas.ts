// Shapes of the campaign API: cohort filters, the campaign a client creates, and the view
// of a campaign with its stages, counts by state and failures by result code.
import { z } from 'zod';
import { deviceIdSchema } from '../devices/schemas.ts';
import { profileRefSchema } from '../profiles/schemas.ts';
import { DEPLOYMENT_STATES } from './policy.ts';
import { isKnownTimeZone, WEEKDAYS } from '../schedule/window.ts';
import { confirmSchema } from '../devices/confirm-policy.ts';
import { appVersionSchema, componentIdSchema } from '../packages/app-manifest.ts';

const label = z.string().min(1).max(128);

export const cohortSchema = z.object({
  /** Defaults to the build's model; a different model is refused. */
  model: label.optional(),
  /** Devices that currently run one of these firmware versions. */
  versions: z.array(label).min(1).max(1000).optional(),
  /** Devices that carry every one of these tags. */
  tags: z.array(z.string().min(1).max(64)).min(1).max(64).optional(),
  /** Exactly these devices (still filtered by model, versions and tags). */
  deviceIds: z.array(deviceIdSchema).min(1).max(10_000).optional(),
});
export type Cohort = z.infer<typeof cohortSchema>;

/**
 * A campaign's cohort may also name a campaign whose updated devices it takes (a rollback's
 * cohort): matched in the database, so it has no size limit. Campaigns only: a release or
 * a drift check matches its cohort otherwise.
 */
export const campaignCohortSchema = cohortSchema.extend({
  /** Devices whose deployment in this campaign succeeded. */
  updatedByCampaign: z.string().regex(/^cmp_[0-9a-z]{1,64}$/, 'must be a campaign id (cmp_...)').optional(),
});
export type CampaignCohort = z.infer<typeof campaignCohortSchema>;

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM on a 24-hour clock');

export const maintenanceWindowSchema = z.object({
  timeZone: z.string().refine(isKnownTimeZone, 'must be an IANA time zone such as Europe/Berlin'),
  days: z.array(z.enum(WEEKDAYS)).min(1).max(7),
  start: hhmm,
  end: hhmm,
});

const share = z.number().min(0).max(1);

/** A time to start at: ISO 8601 with a zone (Z or an offset), as milliseconds. */
export const startAtSchema = z.iso.datetime({ offset: true }).transform((iso) => Date.parse(iso));

export const bandwidthSchema = z.number().int().min(16_384, 'a bandwidth budget below 16 KB/s would stall downloads').max(100_000_000_000);

export const bandwidthActionSchema = z.object({ bytesPerSecond: bandwidthSchema.nullable().describe('null: no budget') });

export const campaignModeSchema = z.enum(['install', 'twoStep', 'downloadOnly']);

export const forcedSchema = z.object({ reason: z.string().trim().min(3, 'a forced campaign needs a reason (at least 3 characters)').max(500) });

/**
 * An application campaign's payload: install (or update to) an uploaded application version,
 * named by its id or by component and version of the cohort's model; or remove, activate or
 * deactivate a component wherever a device reports it deployed.
 */
export const appPayloadSchema = z
  .object({
    operation: z.enum(['install', 'remove', 'activate', 'deactivate']).default('install'),
    /** The uploaded application version (fota app list), instead of component and version. */
    id: z.string().min(1).max(64).optional(),
    component: componentIdSchema.optional(),
    /** install: the version to bring devices to. */
    version: appVersionSchema.optional(),
  })
  .strict()
  .refine((a) => a.operation !== 'install' || a.id !== undefined || (a.component !== undefined && a.version !== undefined), { message: 'an install names the application: its id, or component and version', path: ['version'] })
  .refine((a) => a.operation === 'install' || a.version === undefined, { message: 'only an install takes a version; a removal, activation or deactivation acts on whatever version is deployed', path: ['version'] })
  .refine((a) => a.id !== undefined || a.component !== undefined, { message: 'name the component (or the application id)', path: ['component'] })
  .refine((a) => a.id === undefined || (a.component === undefined && a.version === undefined), { message: 'give the application id or component and version, not both', path: ['id'] });
export type AppPayload = z.infer<typeof appPayloadSchema>;

export const stageSchema = z.object({
  /** Cumulative: the share of the cohort updated once this stage is done. */
  percent: z.number().gt(0).max(100),
  requiresApproval: z.boolean().default(false),
});

export const createCampaignSchema = z.object({
  name: z.string().min(1).max(200),
  /** The build of a firmware campaign; leave out with `profile` for a configuration campaign. */
  buildId: z.string().min(1).max(64).optional(),
  /** A configuration campaign: the profile version it applies, NAME@VERSION (profiles/). */
  profile: profileRefSchema.optional(),
  /** An application campaign: the SCOMO operation each device of the cohort gets. */
  app: appPayloadSchema.optional(),
  cohort: campaignCohortSchema.default({}),
  stages: z
    .array(stageSchema)
    .min(1)
    .max(20)
    .refine((stages) => stages.every((s, i) => i === 0 || s.percent > (stages[i - 1]?.percent ?? 0)), 'stage percentages are cumulative and must increase (e.g. 1, 10, 50, 100)')
    .refine((stages) => stages.at(-1)?.percent === 100, 'the last stage must reach 100 (percent of the cohort, cumulative)'),
  successThreshold: share.default(0.95),
  failureThreshold: share.default(0.05),
  minSample: z.number().int().min(1).max(1_000_000).default(10),
  soakSeconds: z.number().int().min(0).max(30 * 24 * 3600).default(0),
  /** Minutes a commanded, downloading or installing deployment may go without news. */
  timeoutMinutes: z.number().positive().max(30 * 24 * 60).optional(),
  /** Approvals must come from someone other than the creator (default: the server's setting). */
  fourEyes: z.boolean().optional(),
  /** Devices matching the cohort after the start join the running campaign. */
  dynamic: z.boolean().default(false),
  maintenanceWindow: maintenanceWindowSchema.optional(),
  /** Start the campaign at this time (ISO 8601 with offset); the engine starts it when due. */
  startAt: startAtSchema.optional(),
  /** Forced: devices are commanded at any time, no maintenance window; the reason is required and audited. */
  forced: forcedSchema.optional(),
  /**
   * install: one DownloadAndUpdate in the window; twoStep: Download at once, Update when the
   * window opens; downloadOnly: Download, then wait until an operator lets it install.
   */
  mode: campaignModeSchema.default('install'),
  /** Download budget for the whole campaign in bytes per second (per server process); left out: none. */
  bandwidthBytesPerSecond: bandwidthSchema.optional(),
  /** Ask each device's user before its FUMO steps (Alert 1101); a rejection cancels that device's deployment, not counted as a failure. */
  confirm: confirmSchema.optional(),
}).refine((c) => !(c.forced && c.maintenanceWindow), { message: 'a forced campaign ignores maintenance windows; leave out maintenanceWindow or forced', path: ['forced'] })
  .refine((c) => [c.buildId, c.profile, c.app].filter((p) => p !== undefined).length === 1, { message: 'give a buildId (firmware campaign), a profile NAME@VERSION (configuration campaign) or an app operation (application campaign): exactly one, not both or all three', path: ['buildId'] });
/** mode may be left out by callers in process (benches, the demo): install. */
export type CreateCampaign = Omit<z.infer<typeof createCampaignSchema>, 'mode'> & { mode?: z.infer<typeof campaignModeSchema> };

export const operatorActionSchema = z.object({ reason: z.string().max(500).optional() }).default({});

/** Start now, or with startAt in the future, schedule the start (the campaign stays a draft until then). */
export const startActionSchema = z.object({ reason: z.string().max(500).optional(), startAt: startAtSchema.optional() }).default({});

/** Force a campaign: its devices are commanded outside its maintenance window from now on. */
export const forceActionSchema = forcedSchema;

/** Cohort preview from a query string: comma-separated lists. */
const list = z
  .string()
  .max(200_000)
  .transform((s) => s.split(',').map((v) => v.trim()).filter(Boolean));
export const cohortPreviewQuerySchema = z.object({
  model: label.optional(),
  versions: list.optional(),
  tags: list.optional(),
  deviceIds: list.optional(),
  buildId: z.string().min(1).max(64).optional(),
});

/** The same as a JSON body, for cohorts of many device ids (a URL holds about 16 KiB). */
export const cohortPreviewBodySchema = cohortSchema.extend({ buildId: z.string().min(1).max(64).optional(), app: appPayloadSchema.optional() });

export const cohortPreviewSchema = z.object({
  devices: z.number(),
  byVersion: z.record(z.string(), z.number()),
  /** With buildId: devices that already run the build's version; with app: devices with nothing to do (left out at start). */
  alreadyCurrent: z.number().optional(),
  /** With buildId: devices on a build of higher securityVersion (left out at start: they would refuse it). */
  securityHeld: z.number().optional(),
  /** Devices already in a running or paused campaign (the start would be refused). */
  inOtherCampaigns: z.array(z.object({ campaignId: z.string(), devices: z.number() })),
});
export type CohortPreview = z.infer<typeof cohortPreviewSchema>;

/**
 * An operator's override of a stage, from the resume that made it: failures accepted (the
 * failure threshold judges only later results), or a stage that settled short moved on.
 */
export const stageOverrideSchema = z.object({
  kind: z.enum(['accepted-failures', 'moved-on']),
  by: z.string(),
  reason: z.string().nullable(),
  at: z.string(),
  /** The stage's figures when the operator overrode them. */
  succeeded: z.number(),
  failed: z.number(),
  total: z.number(),
});
export type StageOverride = z.infer<typeof stageOverrideSchema>;

/** The maintenance window at the time of the answer: open, or when it opens next. */
export const windowNowSchema = z.object({
  open: z.boolean(),
  opensAt: z.string().nullable(),
  /** `Mon 22:00 Europe/Berlin`: the window's own day, time and zone. */
  opensLocal: z.string().nullable(),
});

const countsSchema = z.object(Object.fromEntries(DEPLOYMENT_STATES.map((s) => [s, z.number()])) as Record<(typeof DEPLOYMENT_STATES)[number], z.ZodNumber>);

export const stageViewSchema = z.object({
  index: z.number(),
  percent: z.number(),
  requiresApproval: z.boolean(),
  state: z.enum(['pending', 'awaitingApproval', 'running', 'done']),
  size: z.number(),
  counts: countsSchema,
  /** Failed deployments by FUMO result code ('timeout' when the device went silent). */
  failures: z.record(z.string(), z.number()),
  startedAt: z.string().nullable(),
  thresholdMetAt: z.string().nullable(),
  approvedBy: z.string().nullable(),
  approvedAt: z.string().nullable(),
  /** What operators overrode on this stage by resuming after an automatic pause, oldest first. */
  overrides: z.array(stageOverrideSchema),
});

export const campaignViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  /** The build a firmware campaign delivers; null for a configuration campaign. */
  buildId: z.string().nullable(),
  /** firmware: a build over FUMO; configuration: a profile version (profileVersionId); application: a SCOMO operation (app). */
  kind: z.enum(['firmware', 'configuration', 'application']),
  profileVersionId: z.string().nullable(),
  /** An application campaign's operation, component and (install) version and application id; null for the others. */
  app: z.object({ operation: z.enum(['install', 'remove', 'activate', 'deactivate']), component: z.string(), version: z.string().nullable(), id: z.string().nullable() }).nullable(),
  model: z.string(),
  /** The build's version, NAME@VERSION of a configuration campaign's profile, or `app C@V` / `remove C` (payload.ts). */
  targetVersion: z.string(),
  state: z.enum(['draft', 'starting', 'running', 'paused', 'completed', 'aborted']),
  pausedReason: z.string().optional(),
  pauseKind: z.enum(['operator', 'failures', 'below-success']).optional(),
  /** When it paused: the reason's figures are from then, the counts are live. */
  pausedAt: z.string().optional(),
  currentStage: z.number(),
  /** The current stage's own state (null before the start). */
  currentStageState: z.enum(['pending', 'awaitingApproval', 'running', 'done']).nullable(),
  cohort: campaignCohortSchema,
  successThreshold: z.number(),
  failureThreshold: z.number(),
  minSample: z.number(),
  soakSeconds: z.number(),
  timeoutMinutes: z.number(),
  fourEyes: z.boolean(),
  dynamic: z.boolean(),
  maintenanceWindow: maintenanceWindowSchema.nullable(),
  /** Null without a maintenance window. */
  windowNow: windowNowSchema.nullable(),
  /** A draft the engine starts at this time ("scheduled for ..."); null otherwise. */
  scheduledFor: z.string().nullable(),
  /** Why the campaign is forced (commanded outside any maintenance window); null: not forced. */
  forcedReason: z.string().nullable(),
  mode: campaignModeSchema,
  /** The campaign's download budget, bytes per second per server process; null: none. */
  bandwidthBytesPerSecond: z.number().nullable(),
  cohortSize: z.number(),
  alreadyCurrent: z.number(),
  busy: z.number(),
  /** Cohort devices left out at start because they run a build of higher securityVersion (they would refuse this one). */
  securityHeld: z.number(),
  /** Why, naming their versions; null when none were left out. */
  securityHeldReason: z.string().nullable(),
  createdBy: z.string(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  stages: z.array(stageViewSchema),
  totals: countsSchema,
  bytesServed: z.number(),
});
export type CampaignView = z.infer<typeof campaignViewSchema>;
export type StageView = z.infer<typeof stageViewSchema>;

export const campaignSummarySchema = campaignViewSchema.pick({
    id: true,
    name: true,
    buildId: true,
    kind: true,
    profileVersionId: true,
    app: true,
    model: true,
    targetVersion: true,
    state: true,
    pausedReason: true,
    pauseKind: true,
    pausedAt: true,
    scheduledFor: true,
    currentStage: true,
    currentStageState: true,
    windowNow: true,
    fourEyes: true,
    createdBy: true,
    cohortSize: true,
    createdAt: true,
  }).extend({ totals: countsSchema });
export type CampaignSummary = z.infer<typeof campaignSummarySchema>;
