// Shapes of the releases API: a build offered to a cohort (as campaigns filter one) for
// updates devices ask for, with an optional maintenance window.
import { z } from 'zod';
import { cohortSchema, maintenanceWindowSchema } from '../campaigns/schemas.ts';
import { pageSchema } from '../store/page.ts';

export const createReleaseSchema = z.object({
  buildId: z.string().min(1).max(64),
  cohort: cohortSchema.default({}),
  maintenanceWindow: maintenanceWindowSchema.optional(),
});
export type CreateRelease = z.infer<typeof createReleaseSchema>;

export const releaseViewSchema = z.object({
  id: z.string(),
  buildId: z.string(),
  version: z.string(),
  model: z.string(),
  cohort: cohortSchema.extend({ model: z.string() }),
  maintenanceWindow: maintenanceWindowSchema.nullable(),
  createdBy: z.string(),
  createdAt: z.string(),
  withdrawnAt: z.string().nullable(),
});
export type ReleaseView = z.infer<typeof releaseViewSchema>;

export const releasePageSchema = pageSchema(releaseViewSchema);
