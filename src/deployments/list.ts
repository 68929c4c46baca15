// The deployments list: by campaign, stage, state, FUMO result code or device, in id order,
// a page at a time.
import { z } from 'zod';
import type { Context } from '../context.ts';
import { deviceIdSchema } from '../devices/schemas.ts';
import { keysetPage, type Page, pageQuerySchema, pageSchema } from '../store/page.ts';
import { deploymentsPage } from '../store/queries/lists.ts';

export const deploymentListQuerySchema = pageQuerySchema.extend({
  campaign: z.string().min(1).max(64).optional().describe('campaign id'),
  stage: z.coerce.number({ error: 'must be a stage index (0, 1, ...)' }).int('must be a stage index (0, 1, ...)').min(0, 'must be a stage index (0, 1, ...)').max(1000).optional(),
  state: z.string().min(1).max(32).optional().describe('pending, scheduled, commanded, downloading, installing, succeeded, failed or canceled'),
  resultCode: z.coerce.number({ error: 'must be a FUMO result code (e.g. 410)' }).int('must be a FUMO result code (e.g. 410)').min(0).max(9999).optional(),
  device: deviceIdSchema.optional().describe('device id'),
});
export type DeploymentListQuery = z.infer<typeof deploymentListQuerySchema>;

export const deploymentSummarySchema = z.object({
  id: z.string(),
  deviceId: z.string(),
  /** Null for a configuration campaign's deployment (it applies a profile version). */
  buildId: z.string().nullable(),
  packageId: z.string().nullable(),
  campaignId: z.string().nullable(),
  stage: z.number().nullable(),
  state: z.string(),
  resultCode: z.number().nullable(),
  bytesServed: z.number(),
  attempts: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type DeploymentSummary = z.infer<typeof deploymentSummarySchema>;
export const deploymentPageSchema = pageSchema(deploymentSummarySchema);

export function listDeployments(ctx: Context, query: DeploymentListQuery): Promise<Page<DeploymentSummary>> {
  const filter = { campaignId: query.campaign, stage: query.stage, state: query.state, resultCode: query.resultCode, deviceId: query.device };
  return keysetPage(
    'deployments',
    query,
    (after, limit) => deploymentsPage(ctx.db, filter, after, limit),
    (row) => row.id,
    (row) => ({
      id: row.id,
      deviceId: row.deviceId,
      buildId: row.buildId,
      packageId: row.packageId,
      campaignId: row.campaignId,
      stage: row.stage,
      state: row.state,
      resultCode: row.resultCode,
      bytesServed: row.bytesServed,
      attempts: row.attempts,
      createdAt: new Date(row.createdAt).toISOString(),
      updatedAt: new Date(row.updatedAt).toISOString(),
    }),
  );
}
