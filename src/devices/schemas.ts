// Shapes of the device API: registration, the device record, and device operations.
import { z } from 'zod';

/** A DM DevId (e.g. IMEI:493005100592800): it also appears in URLs and logs. */
export const deviceIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9:._-]{0,127}$/, 'must be 1-128 letters, digits, ":", ".", "_" or "-"');

/** Tags: what cohorts and device filters select on; compared case-sensitively. */
export const deviceTagsSchema = z.array(z.string().min(1).max(64, 'a tag is at most 64 characters')).max(64, 'a device has at most 64 tags');

export const registerDeviceSchema = z.object({
  id: deviceIdSchema,
  model: z.string().min(1).max(128),
  firmwareVersion: z.string().min(1).max(128).optional(),
  tags: deviceTagsSchema.optional(),
  credentials: z.object({
    username: z.string().min(1).max(128),
    password: z.string().min(8, 'must be at least 8 characters').max(256),
    /** How the device proves itself; md5 digest unless the device can only do basic or HMAC. */
    authType: z.enum(['md5', 'basic', 'hmac']).optional(),
  }),
  /** The password the device's DM account expects the server to present (server authentication). */
  serverPassword: z.string().min(8).max(256).optional(),
  /** Where Package 0 notifications for this device are POSTed (else the global webhook). */
  webhookUrl: z.url({ protocol: /^https?$/ }).optional(),
});
export type RegisterDevice = z.infer<typeof registerDeviceSchema>;

export const deviceViewSchema = z.object({
  id: z.string(),
  model: z.string(),
  manufacturer: z.string().nullable(),
  firmwareVersion: z.string().nullable(),
  tags: z.array(z.string()),
  authType: z.enum(['md5', 'basic', 'hmac']),
  createdAt: z.string(),
  lastSeen: z.string().nullable(),
  inventory: z.record(z.string(), z.object({ value: z.string(), at: z.string() })),
  deployments: z.array(z.object({ id: z.string(), buildId: z.string().nullable(), packageId: z.string().nullable(), app: z.string().nullable().describe('An application campaign\'s payload (app com.acme.nav@2.1, remove com.acme.nav); null for firmware and configuration'), state: z.string(), resultCode: z.number().nullable() })),
});
export type DeviceView = z.infer<typeof deviceViewSchema>;

/** A DM tree path: starts with "./", no "..", printable. */
export const dmUriSchema = z
  .string()
  .min(3)
  .max(512)
  .regex(/^\.\/[^\s]*$/, 'must be a DM tree path starting with "./"')
  .refine((u) => !u.split('/').includes('..'), 'must not contain ".."');

export const queueOperationSchema = z
  .object({
    command: z.enum(['Get', 'Replace', 'Exec']),
    uri: dmUriSchema,
    data: z.string().min(1, 'must not be empty (devices answer 500 to an empty Data)').max(64 * 1024).optional(),
    format: z.enum(['chr', 'int', 'bool', 'b64', 'bin', 'node', 'xml', 'float', 'date', 'time', 'null']).optional(),
    type: z.string().max(128).optional(),
    correlator: z.string().max(128).optional(),
  })
  .refine((o) => o.command !== 'Replace' || o.data !== undefined, { message: 'a Replace needs data (devices fail on a Replace without Data)', path: ['data'] })
  .refine((o) => o.command !== 'Get' || o.data === undefined, { message: 'a Get takes no data', path: ['data'] });
export type QueueOperation = z.infer<typeof queueOperationSchema>;

export const operationViewSchema = z.object({
  id: z.string(),
  command: z.enum(['Get', 'Replace', 'Exec', 'Add', 'Delete']),
  uri: z.string(),
  status: z.enum(['queued', 'sent', 'done', 'failed']),
  statusCode: z.number().optional(),
  result: z.array(z.object({ uri: z.string(), data: z.string(), format: z.string().optional(), type: z.string().optional() })).optional(),
  createdAt: z.string(),
  sentAt: z.string().nullable(),
  doneAt: z.string().nullable(),
});
export type OperationView = z.infer<typeof operationViewSchema>;

/** What a Package 0 notification came to: the Notifier's answer and the session it asks for. */
export const notifyOutcomeSchema = z.object({ delivered: z.boolean(), status: z.number().optional(), reason: z.string().optional(), sessionId: z.string() });
