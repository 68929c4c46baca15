// Shapes of the campaign API: cohort filters, the campaign a client creates, and the view
// of a campaign with its stages, counts by state and failures by result code.
import { z } from 'zod';
import { deviceIdSchema } from '../devices/schemas.ts';
import { DEPLOYMENT_STATES } from './policy.ts';
import { isKnownTimeZone, WEEKDAYS } from '../schedule/window.ts';

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

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM on a 24-hour clock');

export const maintenanceWindowSchema = z.object({
  timeZone: z.string().refine(isKnownTimeZone, 'must be an IANA time zone such as Europe/Berlin'),
  days: z.array(z.enum(WEEKDAYS)).min(1).max(7),
  start: hhmm,
  end: hhmm,
});

const share = z.number().min(0).max(1);

export const stageSchema = z.object({
  /** Cumulative: the share of the cohort updated once this stage is done. */
  percent: z.number().gt(0).max(100),
  requiresApproval: z.boolean().default(false),
});

export const createCampaignSchema = z.object({
  name: z.string().min(1).max(200),
  buildId: z.string().min(1).max(64),
  cohort: cohortSchema.default({}),
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
});
export type CreateCampaign = z.infer<typeof createCampaignSchema>;

export const operatorActionSchema = z.object({ reason: z.string().max(500).optional() }).default({});

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
export const cohortPreviewBodySchema = cohortSchema.extend({ buildId: z.string().min(1).max(64).optional() });

export const cohortPreviewSchema = z.object({
  devices: z.number(),
  byVersion: z.record(z.string(), z.number()),
  /** With buildId: devices that already run the build's version (left out at start). */
  alreadyCurrent: z.number().optional(),
  /** Devices already in a running or paused campaign (the start would be refused). */
  inOtherCampaigns: z.array(z.object({ campaignId: z.string(), devices: z.number() })),
});
export type CohortPreview = z.infer<typeof cohortPreviewSchema>;

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
});

export const campaignViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  buildId: z.string(),
  model: z.string(),
  targetVersion: z.string(),
  state: z.enum(['draft', 'starting', 'running', 'paused', 'completed', 'aborted']),
  pausedReason: z.string().optional(),
  pauseKind: z.enum(['operator', 'failures', 'below-success']).optional(),
  currentStage: z.number(),
  cohort: cohortSchema,
  successThreshold: z.number(),
  failureThreshold: z.number(),
  minSample: z.number(),
  soakSeconds: z.number(),
  timeoutMinutes: z.number(),
  fourEyes: z.boolean(),
  dynamic: z.boolean(),
  maintenanceWindow: maintenanceWindowSchema.nullable(),
  cohortSize: z.number(),
  alreadyCurrent: z.number(),
  busy: z.number(),
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

export const campaignSummarySchema = campaignViewSchema.pick({ id: true, name: true, buildId: true, model: true, targetVersion: true, state: true, pausedReason: true, currentStage: true, cohortSize: true, createdAt: true }).extend({ totals: countsSchema });
export type CampaignSummary = z.infer<typeof campaignSummarySchema>;
