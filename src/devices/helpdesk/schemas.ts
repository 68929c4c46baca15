// Shapes of the helpdesk live query: what an operator asks (presets and node paths), the
// query with its results as they arrive, and the fix (a Replace) made from them.
import { z } from 'zod';
import { confirmSchema } from '../confirm-policy.ts';
import { HELPDESK_PRESET_NAMES, isSecretNode } from '../../omadm/helpdesk-presets.ts';

/** Paths typed in, per query. */
export const MAX_QUERY_PATHS = 32;
/** Nodes one query reads at most, children of interior nodes included. */
export const MAX_QUERY_NODES = 200;
/** Queries a device keeps; a new one drops the oldest beyond this, with their results. */
export const QUERIES_KEPT = 20;
/** The longest value a query shows; the rest of a long log is cut. */
export const MAX_SHOWN_VALUE = 64 * 1024;

/** A node name: URI characters that need no escaping, no "." or ".." (no way up the tree). */
const SEGMENT = /^[A-Za-z0-9_~:@+,=-][A-Za-z0-9._~:@+,=-]{0,63}$/;

/**
 * An absolute DM node path a helpdesk may read: "./" and up to 16 names; no "..", no empty
 * names, no query part ("?list="), no escapes, no credential nodes.
 */
export const queryPathSchema = z
  .string()
  .max(256, 'a node path is at most 256 characters')
  .refine((p) => p.startsWith('./') && p.length > 2, 'must be an absolute DM node path starting with "./"')
  .refine((p) => {
    const names = p.slice(2).split('/');
    return names.length <= 16 && names.every((n) => SEGMENT.test(n) && n !== '..');
  }, 'must be names of letters, digits and _ - ~ : @ + , = . separated by "/" (no "..", no empty names, at most 16 levels)')
  .refine((p) => !isSecretNode(p), 'names a credential node: the helpdesk never reads or writes secrets');

export const createQuerySchema = z
  .object({
    presets: z.array(z.enum(HELPDESK_PRESET_NAMES as [string, ...string[]])).max(HELPDESK_PRESET_NAMES.length).optional(),
    nodes: z.array(queryPathSchema).max(MAX_QUERY_PATHS, `at most ${MAX_QUERY_PATHS} node paths`).optional(),
    /** Wake the device with a Package 0 (default), or wait for its next poll. */
    wake: z.boolean().optional(),
    /** Ask the device's user first (Alert 1101): nothing is read unless the user accepts. */
    confirm: confirmSchema.optional(),
  })
  .refine((q) => (q.presets?.length ?? 0) + (q.nodes?.length ?? 0) > 0, { message: 'ask for at least one preset or node path', path: ['presets'] });
export type CreateQuery = z.infer<typeof createQuerySchema>;

const wakeSchema = z.object({ delivered: z.boolean(), status: z.number().optional(), reason: z.string().optional(), sessionId: z.string().optional() });
export type QueryWake = z.infer<typeof wakeSchema>;
export const storedWakeSchema = wakeSchema;

export const queryResultSchema = z.object({
  /** The device operation that reads (or sets) the node: GET /api/v1/devices/{id}/operations/{opId}. */
  id: z.string(),
  uri: z.string(),
  /** The preset that asked for the node, "node" for a path typed in, "fix" for a fix and its re-read. */
  source: z.string(),
  command: z.enum(['Get', 'Replace', 'Exec', 'Add', 'Delete']),
  /** queued: not sent yet; sent: the device has it; done: answered; failed: answered with an error Status. */
  state: z.enum(['queued', 'sent', 'done', 'failed']),
  statusCode: z.number().nullable(),
  statusText: z.string().nullable(),
  /** When the device answered (the time the value was read). */
  readAt: z.string().nullable(),
  value: z.string().nullable(),
  format: z.string().nullable(),
  /** The value was longer than the query shows. */
  truncated: z.boolean(),
});
export type QueryResult = z.infer<typeof queryResultSchema>;

export const queryViewSchema = z.object({
  id: z.string(),
  deviceId: z.string(),
  /** waiting: nothing sent yet; asking: some results still to come; done: every node answered; canceled: stopped (see `canceled`). */
  state: z.enum(['waiting', 'asking', 'done', 'canceled']),
  /** When and why the query stopped before every node was read: an operator canceled it, or the device never picked it up (expired). */
  canceled: z.object({ at: z.string(), reason: z.string() }).nullable(),
  presets: z.array(z.string()),
  wake: wakeSchema.nullable(),
  createdBy: z.string(),
  createdAt: z.string(),
  /** The device's user's answer when the query asked first (confirm): null when it did not ask. */
  confirmation: z
    .object({
      text: z.string(),
      /** waiting: not asked yet; asking: the prompt is out; then the user's answer (accepted, rejected, timeout, cancelled, unsupported, failed). */
      state: z.string(),
      answeredAt: z.string().nullable(),
    })
    .nullable(),
  results: z.array(queryResultSchema),
});
export type QueryView = z.infer<typeof queryViewSchema>;

export const fixNodeSchema = z.object({
  uri: queryPathSchema,
  data: z.string().min(1, 'must not be empty (devices answer 500 to an empty Data)').max(4096),
  format: z.enum(['chr', 'int', 'bool']).optional(),
  /** Ask the device's user first (Alert 1101): nothing is written unless the user accepts. */
  confirm: confirmSchema.optional(),
});
export type FixNode = z.infer<typeof fixNodeSchema>;
