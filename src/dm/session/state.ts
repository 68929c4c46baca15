// What a DM session remembers between messages (kept in the database as JSON): the
// server commands awaiting the device's Status, and those not yet sent because the last
// message was full.
import { z } from 'zod';

const uiOptions = z.object({
  minSeconds: z.number().int().optional(),
  maxSeconds: z.number().int().optional(),
  defaultResponse: z.string().optional(),
  maxLength: z.number().int().optional(),
  inputType: z.enum(['A', 'N', 'D', 'T', 'P', 'I']).optional(),
  echoType: z.enum(['T', 'P']).optional(),
});

const serverCommand = z.object({
  kind: z.enum(['Get', 'Replace', 'Exec', 'Add', 'Delete', 'Alert']),
  uri: z.string(),
  data: z.string().optional(),
  format: z.string().optional(),
  type: z.string().optional(),
  correlator: z.string().optional(),
  /** The operator's operation this command carries out, if any. */
  opId: z.string().optional(),
  /** The deployment a FUMO command delivers, if any. */
  deploymentId: z.string().optional(),
  /** The package a FUMO command delivers, chosen when it was planned (recorded on the deployment as it is sent). */
  packageId: z.string().optional(),
  /** The SCOMO deployment a SCOMO command carries out, if any (src/scomo/session.ts). */
  scomoId: z.string().optional(),
  /** An Alert's code (1225: the device's object was interrupted), or the user prompt of a UI alert (user-gate.ts). */
  alert: z.object({ code: z.string() }).optional(),
  ui: z.object({ kind: z.enum(['display', 'confirm', 'text', 'single', 'multiple']), text: z.string(), options: uiOptions, choices: z.array(z.string()).optional() }).optional(),
  /** The user prompt (user_prompts row) a UI alert carries. */
  promptId: z.string().optional(),
  /** `data` is a secret (new credentials): the session row never keeps it in clear (secrets-at-rest.ts). */
  secret: z.boolean().optional(),
  /** A secret `data` as the session row keeps a command not sent yet: sealed under the master key. */
  sealedData: z.object({ sealed: z.string(), nonce: z.string() }).optional(),
  /** Bytes of `data` already sent as chunks of a large object (reply.ts, outgoing-objects.ts). */
  sentBytes: z.number().int().optional(),
  /** Why the server sends it: an operator's operation, its own inventory read, FUMO, SCOMO (inventory read and operations), or enrollment (first contact, enrollment.ts). */
  purpose: z.enum(['operation', 'inventory', 'fumo', 'scomo', 'enroll']),
});
export type ServerCommand = z.infer<typeof serverCommand>;

const awaited = serverCommand.extend({ msgId: z.number().int(), cmdId: z.number().int(), resultsSeen: z.boolean().optional() });
export type AwaitedCommand = z.infer<typeof awaited>;

export const awaitingSchema = z.array(awaited);
export const pendingSchema = z.array(serverCommand);

// A session row's lists as it keeps them (JSON), read on every message. Most hold none
// ('[]': no pending commands, nothing awaited at a session's start): read without the
// schema, whose parse of even an empty list allocates as much as the rest of the read.
const NONE = '[]';

/** The commands a session row awaits Status for, as awaitingText kept them or as rows written before it kept them. */
export function awaitingOf(stored: string): AwaitedCommand[] {
  if (stored === NONE) return [];
  const parsed: unknown = JSON.parse(stored);
  if (!Array.isArray(parsed)) return awaitingSchema.parse(parsed);
  return parsed.map((entry) => plainAwaited(entry) ?? awaited.parse(named(entry)));
}

const KINDS: ReadonlySet<unknown> = new Set(serverCommand.shape.kind.options);
const PURPOSES: ReadonlySet<unknown> = new Set(serverCommand.shape.purpose.options);

/**
 * A stored command of the five positional fields alone (a session's inventory Gets),
 * checked as the schema checks them; undefined for any other, which the schema reads.
 * The schema's parse of a session's four Gets took 2% of bench:dm's server's time and
 * 4 KiB of garbage a message, more than the rest of reading the row.
 */
function plainAwaited(entry: unknown): AwaitedCommand | undefined {
  if (!Array.isArray(entry) || (entry.length !== 5 && !(entry.length === 6 && plainRest(entry[5])))) return undefined;
  const stored = entry as Positional;
  const [msgId, cmdId, kind, uri, purpose] = stored;
  if (!Number.isSafeInteger(msgId) || !Number.isSafeInteger(cmdId) || typeof uri !== 'string' || !KINDS.has(kind) || !PURPOSES.has(purpose)) return undefined;
  const command: AwaitedCommand = { kind, uri, purpose, msgId, cmdId };
  // As named() below: the rest first, the positional fields over it.
  return stored[5] === undefined ? command : Object.assign({}, stored[5], command);
}

/**
 * The optional fields of a stored command that are a plain string, boolean or integer,
 * with the type the schema gives them (serverCommand, awaited). A command with one of
 * these besides its five positional fields (an operator's Get: its opId) was read by the
 * schema, 0.8% of bench:dm's server's time: its rest is checked here instead.
 */
const REST_FIELDS: ReadonlyMap<string, 'string' | 'boolean' | 'integer'> = new Map([
  ['data', 'string'],
  ['format', 'string'],
  ['type', 'string'],
  ['correlator', 'string'],
  ['opId', 'string'],
  ['deploymentId', 'string'],
  ['packageId', 'string'],
  ['scomoId', 'string'],
  ['promptId', 'string'],
  ['secret', 'boolean'],
  ['resultsSeen', 'boolean'],
  ['sentBytes', 'integer'],
]);

/** Whether a stored command's rest holds only REST_FIELDS, each of its type; any other field (ui, alert, sealedData, one unknown) is for the schema. */
function plainRest(rest: unknown): boolean {
  if (typeof rest !== 'object' || rest === null || Array.isArray(rest)) return false;
  for (const key in rest) {
    const type = REST_FIELDS.get(key);
    const value = (rest as Record<string, unknown>)[key];
    if (type === undefined || (type === 'integer' ? !Number.isSafeInteger(value) : typeof value !== type)) return false;
  }
  return true;
}

// The awaited commands as the session row keeps them: each as [msgId, cmdId, kind, uri,
// purpose], then an object of its other fields if it has any. The fields all named took
// twice the bytes, a tenth of the row of a session's first reply, and that row must stay
// under half a 4 KiB page for two to share one (bench/dm.ts). Rows written before keep an
// object per command; awaitingOf reads both (a server upgraded mid-session).
type Positional = [msgId: number, cmdId: number, kind: AwaitedCommand['kind'], uri: string, purpose: AwaitedCommand['purpose'], rest?: Partial<AwaitedCommand>];

/** The commands awaiting a Status, for the session row. */
export function awaitingText(commands: readonly AwaitedCommand[]): string {
  return commands.length === 0 ? NONE : JSON.stringify(commands.map(positional));
}

function positional(command: AwaitedCommand): Positional {
  const { msgId, cmdId, kind, uri, purpose } = command;
  // The rest is copied out only for a command that has one (most are inventory Gets).
  return hasMore(command) ? [msgId, cmdId, kind, uri, purpose, restOf(command)] : [msgId, cmdId, kind, uri, purpose];
}

function hasMore(command: AwaitedCommand): boolean {
  for (const key in command) if (!isPositional(key) && command[key as keyof AwaitedCommand] !== undefined) return true;
  return false;
}

function restOf(command: AwaitedCommand): Partial<AwaitedCommand> {
  const { msgId: _msgId, cmdId: _cmdId, kind: _kind, uri: _uri, purpose: _purpose, ...rest } = command;
  return rest;
}

const isPositional = (key: string) => key === 'msgId' || key === 'cmdId' || key === 'kind' || key === 'uri' || key === 'purpose';

/** One stored command with its fields named again (one a row written before kept so already). */
function named(entry: unknown): unknown {
  if (!Array.isArray(entry)) return entry;
  // By index, one object shape for every command: a destructuring and a spread of a rest
  // that is mostly absent took 1% of bench:dm's server's time.
  const stored = entry as Positional;
  const command = { msgId: stored[0], cmdId: stored[1], kind: stored[2], uri: stored[3], purpose: stored[4] };
  // Object.assign rather than { ...stored[5], ...command }: a literal that starts with a
  // spread gets a map of its own each time on Node 20's V8 (reply.ts).
  return stored[5] === undefined ? command : Object.assign({}, stored[5], command);
}

/** The commands not sent yet, for the session row ('[]' without a call for none, most messages). */
export function pendingText(commands: readonly ServerCommand[]): string {
  return commands.length === 0 ? NONE : JSON.stringify(commands);
}

/** The commands a session row keeps for the next message. */
export function pendingOf(stored: string): ServerCommand[] {
  return stored === NONE ? [] : pendingSchema.parse(JSON.parse(stored));
}

/** DevDetail nodes the server keeps fresh in the inventory. */
export const INVENTORY_NODES = ['./DevDetail/FwV', './DevDetail/SwV', './DevDetail/HwV'] as const;
