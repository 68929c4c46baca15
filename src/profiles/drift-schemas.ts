// The drift check request: a version of the profile (default: its newest) and a cohort of
// the profile's model. Apart from schemas.ts, which campaigns/schemas.ts imports (the
// profile reference), so the two schema modules do not import each other.
import { z } from 'zod';
import { cohortSchema } from '../campaigns/schemas.ts';

export const driftRequestSchema = z.strictObject({
  /** The version to compare against (default: the newest). */
  version: z.number().int().min(1).optional(),
  cohort: cohortSchema.default({}),
});
export const driftQueuedSchema = z.object({ profileVersionId: z.string(), devices: z.number(), applicationIds: z.array(z.string()) });
