// The shapes of the SCOMO API: application uploads and views, baselines, a device's
// applications and its SCOMO deployments.
import { z } from 'zod';
import { confirmSchema } from '../devices/confirm-policy.ts';
import { appVersionSchema, componentIdSchema } from '../packages/app-manifest.ts';

const modelName = z.string().min(1).max(200);

export const appUploadQuerySchema = z.object({
  model: modelName,
  component: componentIdSchema,
  version: appVersionSchema,
});
export type AppUploadQuery = z.infer<typeof appUploadQuerySchema>;

export const appPackageViewSchema = z.object({ id: z.string(), kind: z.enum(['bsdiff40', 'full']), fromVersion: z.string().nullable(), size: z.number().int() });

export const appViewSchema = z.object({
  id: z.string(),
  model: z.string(),
  component: z.string(),
  version: z.string(),
  sha256: z.string(),
  size: z.number().int(),
  createdAt: z.string(),
  packages: z.array(appPackageViewSchema),
});
export type AppView = z.infer<typeof appViewSchema>;

export const appListQuerySchema = z.object({ model: modelName.optional(), component: componentIdSchema.optional(), limit: z.coerce.number().int().min(1).max(500).optional() });

export const baselineSchema = z
  .object({
    /** The default application set: each component at this version. */
    apps: z.array(z.object({ component: componentIdSchema, version: appVersionSchema }).strict()).max(100),
    /** Components the model must not run: removed wherever found. */
    forbidden: z.array(componentIdSchema).max(100).default([]),
    /** Ask each device's user before an install or update the baseline makes (Alert 1101); removals are not asked. */
    confirm: confirmSchema.optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    const seen = new Set<string>();
    for (const app of b.apps) {
      if (seen.has(app.component)) ctx.addIssue({ code: 'custom', path: ['apps'], message: `${app.component} is listed twice` });
      seen.add(app.component);
    }
    for (const c of b.forbidden) if (seen.has(c)) ctx.addIssue({ code: 'custom', path: ['forbidden'], message: `${c} is both required and forbidden` });
  });
export type Baseline = z.infer<typeof baselineSchema>;

export const baselineViewSchema = baselineSchema.and(z.object({ model: z.string(), updatedAt: z.string() }));

export const componentStateSchema = z.enum(['active', 'inactive']);
export const installedComponentSchema = z.object({ node: z.string(), component: z.string(), version: z.string(), state: componentStateSchema, name: z.string().optional() });
export type InstalledComponent = z.infer<typeof installedComponentSchema>;

export const scomoOperationSchema = z.enum(['install', 'remove', 'activate', 'deactivate']);
export type ScomoOperation = z.infer<typeof scomoOperationSchema>;

export const scomoHistorySchema = z.array(z.object({ at: z.string(), state: z.string(), cause: z.string() }));

export const scomoDeploymentViewSchema = z.object({
  id: z.string(),
  deviceId: z.string(),
  component: z.string(),
  operation: scomoOperationSchema,
  mode: z.string(),
  targetVersion: z.string().nullable(),
  state: z.string(),
  resultCode: z.number().int().nullable(),
  result: z.string().nullable(),
  reason: z.string(),
  history: scomoHistorySchema,
});
export type ScomoDeploymentView = z.infer<typeof scomoDeploymentViewSchema>;

export const deviceAppsViewSchema = z.object({
  deviceId: z.string(),
  readAt: z.string().nullable(),
  components: z.array(installedComponentSchema),
  /** What the model's baseline asks that the device does not match yet (empty: it matches). */
  drift: z.array(z.object({ operation: scomoOperationSchema, component: z.string(), version: z.string().optional() })),
  deployments: z.array(scomoDeploymentViewSchema),
});

export const scomoRequestSchema = z
  .object({
    operation: scomoOperationSchema,
    component: componentIdSchema,
    /** install: the version to install (an uploaded application of the device's model). */
    version: appVersionSchema.optional(),
    /** install: one DownloadInstall (default) or Download then Install. */
    mode: z.enum(['downloadInstall', 'twoStep']).optional(),
    /** Ask the device's user first (Alert 1101): a rejection cancels the operation, not a failure. */
    confirm: confirmSchema.optional(),
  })
  .strict();
export type ScomoRequest = z.infer<typeof scomoRequestSchema>;
