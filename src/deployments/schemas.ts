// Shapes of the deployment API.
import { z } from 'zod';
import { deviceIdSchema } from '../devices/schemas.ts';
import { confirmSchema } from '../devices/confirm-policy.ts';

export const createDeploymentSchema = z.object({
  deviceId: deviceIdSchema,
  buildId: z.string().min(1).max(64),
  /** twoStep: download first, install after the device reports the download (confirmation). */
  mode: z.enum(['downloadAndUpdate', 'twoStep']).optional(),
  /** Ask the device's user before each FUMO step (Alert 1101); a rejection cancels the deployment. */
  confirm: confirmSchema.optional(),
});
export type CreateDeployment = z.infer<typeof createDeploymentSchema>;

/** A scheduled deployment and the package it picked (the delta for the device's version, else the full one). */
export const createdDeploymentSchema = z.object({ id: z.string(), packageId: z.string() });

export const historyEntrySchema = z.object({ at: z.string(), state: z.string(), cause: z.string() });
export type HistoryEntry = z.infer<typeof historyEntrySchema>;

export const deploymentViewSchema = z.object({
  id: z.string(),
  deviceId: z.string(),
  /** Null for a configuration campaign's deployment, which applies profileVersionId instead. */
  buildId: z.string().nullable(),
  profileVersionId: z.string().nullable().optional(),
  packageId: z.string().nullable(),
  state: z.string(),
  resultCode: z.number().nullable(),
  bytesServed: z.number(),
  attempts: z.number(),
  mode: z.enum(['downloadAndUpdate', 'twoStep', 'twoStepDownloaded']),
  history: z.array(historyEntrySchema),
});
export type DeploymentView = z.infer<typeof deploymentViewSchema>;
