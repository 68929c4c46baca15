// Shapes of the build API: what an upload names and what a build looks like to clients.
import { z } from 'zod';

/** Model and version names end up in URLs, logs and file names: no path tricks. */
export const nameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/, 'must be 1-128 letters, digits, ".", "_", "+" or "-", starting with a letter or digit');

export const uploadQuerySchema = z.object({
  model: nameSchema,
  version: nameSchema,
  securityVersion: z.coerce.number().int().min(0).max(2 ** 31).optional(),
});
export type UploadQuery = z.infer<typeof uploadQuerySchema>;

/** The answer to an upload: the image is stored, its packages are being made. */
export const uploadResultSchema = z.object({ id: z.string(), status: z.literal('processing'), jobs: z.number() });

export const packageSummarySchema = z.object({
  id: z.string(),
  kind: z.enum(['bsdiff40', 'full']),
  fromVersion: z.string().nullable(),
  toVersion: z.string(),
  size: z.number().int().describe('bytes of the .fota file'),
  sha256: z.string().describe('SHA-256 of the .fota file'),
  payloadSize: z.number().int(),
  keyid: z.string(),
});

export const buildViewSchema = z.object({
  id: z.string(),
  model: z.string(),
  version: z.string(),
  sha256: z.string(),
  size: z.number().int(),
  securityVersion: z.number().int(),
  status: z.enum(['processing', 'ready', 'failed']),
  failureReason: z.string().nullable(),
  createdAt: z.string(),
  readyAt: z.string().nullable(),
  packages: z.array(packageSummarySchema),
  jobs: z.object({ queued: z.number(), running: z.number(), done: z.number(), failed: z.number() }),
});
export type BuildView = z.infer<typeof buildViewSchema>;
