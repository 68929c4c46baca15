// Shapes of enrollment: creating a batch, a batch as the API shows it, and its one export.
import { z } from 'zod';
import { deviceIdSchema, deviceTagsSchema, dmUriSchema } from '../devices/schemas.ts';

/** Devices per batch: a factory lot; larger fleets take several batches. */
export const MAX_BATCH_SIZE = 10_000;

const claimNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9:._-]{0,127}$/, 'must be 1-128 letters, digits, ":", ".", "_" or "-"');

export const createBatchSchema = z
  .object({
    name: z.string().min(1).max(128),
    model: z.string().min(1).max(128),
    /** The devices' DevIds (IMEI:..., serial numbers); or `count` for ids fota makes up. */
    deviceIds: z.array(deviceIdSchema).min(1).max(MAX_BATCH_SIZE).optional(),
    count: z.number().int().min(1).max(MAX_BATCH_SIZE).optional(),
    tags: deviceTagsSchema.optional(),
    /** How the devices authenticate (digest unless they can only do basic or HMAC). */
    authType: z.enum(['md5', 'basic', 'hmac']).optional(),
    /** The DM URL the devices call (default: the server's public URL + /dm). */
    serverAddress: z.url({ protocol: /^https?$/ }).max(512).optional(),
    /** One credential the whole batch shares until each device's first session replaces it with its own. */
    claim: z.object({ name: claimNameSchema }).optional(),
    /** A node naming the subscriber (e.g. ./DevDetail/Ext/IMSI): when its value changes, the device is provisioned again. */
    subscriberNode: dmUriSchema.optional(),
  })
  .refine((b) => (b.deviceIds === undefined) !== (b.count === undefined), { message: 'give either deviceIds or count', path: ['deviceIds'] })
  .refine((b) => b.deviceIds === undefined || new Set(b.deviceIds).size === b.deviceIds.length, { message: 'lists a device id twice', path: ['deviceIds'] });
export type CreateBatch = z.infer<typeof createBatchSchema>;

export const batchViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  model: z.string(),
  size: z.number(),
  authType: z.enum(['md5', 'basic', 'hmac']),
  serverId: z.string(),
  serverAddress: z.string(),
  claim: z.object({ name: z.string() }).nullable(),
  subscriberNode: z.string().nullable(),
  createdBy: z.string(),
  createdAt: z.string(),
  /** When the secrets were handed out (they are never shown again); null before. */
  exportedAt: z.string().nullable(),
  devices: z.object({ issued: z.number(), awaitingClaim: z.number(), enrolled: z.number() }),
});
export type BatchView = z.infer<typeof batchViewSchema>;

export const batchPageSchema = z.object({ items: z.array(batchViewSchema), nextCursor: z.string().nullable() });

/** One file of an export: a path relative to the export directory, and its content. */
export const exportFileSchema = z.object({ path: z.string(), encoding: z.enum(['utf8', 'base64']), content: z.string() });
export type ExportFile = z.infer<typeof exportFileSchema>;

export const batchExportSchema = z.object({
  batch: batchViewSchema,
  /** manifest.csv first, then three bootstrap documents per device. */
  files: z.array(exportFileSchema),
});
export type BatchExport = z.infer<typeof batchExportSchema>;

/** An operator's reset of a device that lost its credentials (reset.ts). */
export const resetDeviceSchema = z.strictObject({
  /** Why, for the audit (e.g. the ticket of the customer whose device is locked out). */
  reason: z.string().trim().min(1, 'say why the device is reset (the audit keeps it)').max(500),
});
