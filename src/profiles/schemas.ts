// Shapes of configuration profiles: the operations a version holds (validated here, the
// one place: API, CLI files and the console all parse through these), the versions and
// profiles as the API shows them, applications and the device's current configuration.
import { z } from 'zod';
import { confirmSchema } from '../devices/confirm-policy.ts';
import { nodePathProblem } from './paths.ts';

/** Profile names: `NAME@VERSION` must split on "@", and names appear in URLs. */
export const profileNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');

export const nodePathSchema = z.string().superRefine((path, check) => {
  const problem = nodePathProblem(path);
  if (problem) check.addIssue({ code: 'custom', message: `node path ${JSON.stringify(path.slice(0, 80))} ${problem}` });
});

/** Largest value one operation carries: what a small DM client takes in one message without large-object support. */
export const MAX_VALUE_BYTES = 4096;
export const MAX_OPERATIONS = 100;

export const VALUE_FORMATS = ['chr', 'int', 'bool', 'b64', 'float'] as const;

/** Whether `data` is a value of `format` as DM clients read it. */
function formatProblem(format: (typeof VALUE_FORMATS)[number], data: string): string | undefined {
  switch (format) {
    case 'int':
      return /^-?\d{1,19}$/.test(data) ? undefined : 'is not an int (whole number)';
    case 'bool':
      return data === 'true' || data === 'false' ? undefined : 'is not a bool ("true" or "false")';
    case 'float':
      return /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(data) ? undefined : 'is not a float';
    case 'b64':
      return data.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(data) ? undefined : 'is not base64 (b64)';
    case 'chr':
      return undefined;
  }
}

export const profileOperationSchema = z
  .strictObject({
    command: z.enum(['Add', 'Replace', 'Delete', 'Exec']),
    uri: nodePathSchema,
    /** The value to write (Add, Replace), or the Exec's argument. */
    data: z.string().max(MAX_VALUE_BYTES, `a value is at most ${MAX_VALUE_BYTES} characters`).optional(),
    format: z.enum(VALUE_FORMATS).optional(),
    /** A MIME type for the value (Meta Type), e.g. text/plain. */
    type: z.string().regex(/^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+$/, 'must be a MIME type such as text/plain').max(128).optional(),
    /** Get the node first, so the application records the value it replaced. */
    readFirst: z.boolean().optional(),
  })
  .superRefine((op, check) => {
    const writes = op.command === 'Add' || op.command === 'Replace';
    if (writes && (op.data === undefined || op.data === '')) check.addIssue({ code: 'custom', path: ['data'], message: `an ${op.command} of ${op.uri} needs a non-empty value (devices fail on a write without Data)` });
    if (op.command === 'Delete' && (op.data !== undefined || op.format !== undefined)) check.addIssue({ code: 'custom', path: ['data'], message: `a Delete of ${op.uri} takes no value or format` });
    if (op.data !== undefined && new TextEncoder().encode(op.data).length > MAX_VALUE_BYTES) check.addIssue({ code: 'custom', path: ['data'], message: `the value for ${op.uri} is over ${MAX_VALUE_BYTES} bytes` });
    if (writes && op.data !== undefined && op.format) {
      const problem = formatProblem(op.format, op.data);
      if (problem) check.addIssue({ code: 'custom', path: ['data'], message: `the value for ${op.uri} ${problem}` });
    }
  });
export type ProfileOperation = z.infer<typeof profileOperationSchema>;

export const profileOperationsSchema = z
  .array(profileOperationSchema)
  .min(1, 'a profile version needs at least one operation')
  .max(MAX_OPERATIONS, `a profile version has at most ${MAX_OPERATIONS} operations`)
  .superRefine((ops, check) => {
    const written = new Set<string>();
    for (const op of ops) {
      if (op.command === 'Exec') continue;
      if (written.has(op.uri)) check.addIssue({ code: 'custom', message: `node ${op.uri} is written twice; one operation per node` });
      written.add(op.uri);
    }
  });

export const createProfileSchema = z.strictObject({
  name: profileNameSchema,
  model: z.string().min(1).max(128),
  /** Make this the model's provisioning profile: every device of the model gets its newest version once. */
  provisioning: z.boolean().optional(),
  description: z.string().max(500).optional(),
  operations: profileOperationsSchema,
});
export type CreateProfile = z.infer<typeof createProfileSchema>;

/** `NAME@VERSION` (or NAME alone: the newest version). */
export const profileRefSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}(@[1-9]\d{0,5})?$/, 'must be NAME@VERSION (e.g. apn-switch@2) or NAME for the newest version');

export const profileVersionViewSchema = z.object({
  id: z.string(),
  profile: z.string(),
  model: z.string(),
  version: z.number(),
  description: z.string().nullable(),
  operations: z.array(profileOperationSchema),
  createdBy: z.string(),
  createdAt: z.string(),
});
export type ProfileVersionView = z.infer<typeof profileVersionViewSchema>;

export const profileViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  model: z.string(),
  provisioning: z.boolean(),
  latestVersion: z.number(),
  createdAt: z.string(),
  versions: z.array(profileVersionViewSchema),
});
export type ProfileView = z.infer<typeof profileViewSchema>;

export const profileSummarySchema = profileViewSchema.omit({ versions: true });
export type ProfileSummary = z.infer<typeof profileSummarySchema>;

export const createdProfileVersionSchema = z.object({ id: z.string(), profileId: z.string(), name: z.string(), model: z.string(), version: z.number() });

export const applyProfileSchema = z.strictObject({
  profile: profileRefSchema,
  /** Wake the device with a Package 0 so it applies the profile now, rather than at its next poll (default true). */
  notify: z.boolean().optional(),
  /** Ask the device's user first (Alert 1101): nothing is written unless the user accepts; a rejection cancels the application. */
  confirm: confirmSchema.optional(),
});

export const commandStatusSchema = z.object({ command: z.string(), uri: z.string(), status: z.number().nullable(), role: z.enum(['operation', 'readFirst', 'readBack']).optional(), value: z.string().optional() });

export const applicationViewSchema = z.object({
  id: z.string(),
  deviceId: z.string(),
  profileVersionId: z.string(),
  reason: z.enum(['provisioning', 'device', 'campaign', 'drift']),
  state: z.enum(['queued', 'succeeded', 'failed', 'canceled']),
  deploymentId: z.string().nullable(),
  statuses: z.array(commandStatusSchema),
  failureCode: z.number().nullable(),
  /** Why it failed in words, when the Statuses alone do not say (the device never answered its commands). */
  failureReason: z.string().nullable(),
  /** Times its commands were sent (commands a lost session left unanswered go again). */
  attempts: z.number(),
  drift: z.array(z.object({ uri: z.string(), expected: z.string(), actual: z.string().nullable() })).nullable(),
  createdAt: z.string(),
  doneAt: z.string().nullable(),
});
export type ApplicationView = z.infer<typeof applicationViewSchema>;

export const appliedSchema = z.object({ applicationId: z.string(), profileVersionId: z.string(), notified: z.boolean() });

export const deviceConfigurationSchema = z.object({
  deviceId: z.string(),
  values: z.array(z.object({ uri: z.string(), value: z.string(), profileVersionId: z.string(), reportedAt: z.string() })),
  applications: z.array(applicationViewSchema),
});
export type DeviceConfiguration = z.infer<typeof deviceConfigurationSchema>;

