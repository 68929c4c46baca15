// PostgreSQL twin of ../schema/devices.ts: the same tables, columns and indexes (test/store/schemas.test.ts).
// Devices and their deployments. The DM and FUMO issues extend these; the package
// pipeline already reads the fleet census (which versions devices of a model run).
import { sql } from 'drizzle-orm';
import { bigint, boolean, index, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { builds, packages } from './builds.ts';

export const devices = pgTable(
  'devices',
  {
    id: text('id').primaryKey(),
    model: text('model').notNull(),
    firmwareVersion: text('firmware_version'),
    /** JSON array of strings. */
    tags: text('tags').notNull().default('[]'),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    lastSeen: bigint('last_seen', { mode: 'number' }),
    /** DevInfo from the last session: Man, Mod, DmV, Lang. */
    manufacturer: text('manufacturer'),
    /** The inventory tree as JSON: {"./DevDetail/FwV": {"value": "...", "at": ms}, ...}. */
    inventory: text('inventory').notNull().default('{}'),
    /** How the device authenticates: syncml:auth-md5 (default), -basic, or HMAC. */
    authType: text('auth_type', { enum: ['md5', 'basic', 'hmac'] }).notNull().default('md5'),
    authName: text('auth_name').notNull().default(''),
    /** The device's password, sealed by the key vault (digest auth needs it in the clear). */
    authSecretSealed: text('auth_secret_sealed').notNull().default(''),
    authSecretNonce: text('auth_secret_nonce').notNull().default(''),
    /**
     * The device's current nonce (base64), issued when it last authenticated; its next Cred
     * is checked with it. Only a successful authentication replaces it, so nothing an
     * unauthenticated message does can put the real device one challenge behind.
     */
    clientNonce: text('client_nonce'),
    /** The nonce the device issued to the server (base64): for the server's Cred and Package 0. */
    serverNonce: text('server_nonce'),
    /** Sealed server password the device expects from the server, if its account asks for one. */
    serverSecretSealed: text('server_secret_sealed'),
    serverSecretNonce: text('server_secret_nonce'),
    /** Failed authentications since the last success: every `maxFailures` of them lock the device. */
    authFailures: bigint('auth_failures', { mode: 'number' }).notNull().default(0),
    /** Credentials are not checked for this device before this time (ms): online guessing is throttled. */
    authLockedUntil: bigint('auth_locked_until', { mode: 'number' }),
    webhookUrl: text('webhook_url'),
  },
  (t) => [
    index('devices_model_version').on(t.model, t.firmwareVersion),
    // A model's devices a page at a time in id order (the devices list; a campaign start's
    // cohort pages, campaigns.ts cohortPage) read this index in order, without sorting.
    index('devices_model_id').on(t.model, t.id),
  ],
);

/** OMA DM sessions, kept in the database so any server process can continue one. */
export const dmSessions = pgTable(
  'dm_sessions',
  {
    /** Random token carried in RespURI; never guessable from the device's SessionID. */
    id: text('id').primaryKey(),
    deviceId: text('device_id')
      .notNull()
      .references(() => devices.id),
    sessionId: text('session_id').notNull(),
    state: text('state', { enum: ['open', 'ended'] }).notNull(),
    /** The client's last MsgID and the server's last MsgID. */
    clientMsgId: bigint('client_msg_id', { mode: 'number' }).notNull(),
    serverMsgId: bigint('server_msg_id', { mode: 'number' }).notNull(),
    /** Commands the server sent and awaits a Status for: JSON [msgId, cmdId, kind, uri, purpose, {other fields}?][] (dm/session/state.ts; rows of before: objects). */
    awaiting: text('awaiting').notNull().default('[]'),
    /** Commands not yet sent because the last message was full (multi-message package). */
    pending: text('pending').notNull().default('[]'),
    /** The last reply, resent if the client repeats its last message (a lost response): `xml:<text>`, base64, or `sealed:` (dm/session/secrets-at-rest.ts). */
    lastReply: text('last_reply'),
    lastReplyType: text('last_reply_type'),
    /** Client MaxMsgSize, in bytes. */
    maxMsgSize: bigint('max_msg_size', { mode: 'number' }),
    maxObjSize: bigint('max_obj_size', { mode: 'number' }),
    receivingObject: boolean('receiving_object').notNull().default(false),
    /**
     * The nonce the credentials of the session's last message verified with (base64; '' for
     * basic): a resend of that message after a lost reply proves itself with it. A row
     * exists only once its device authenticated: unauthenticated messages store nothing.
     */
    authNonce: text('auth_nonce'),
    /** The device accepted the server's Cred (Status 212 on our header). */
    serverAuthenticated: boolean('server_authenticated').notNull().default(false),
    /** DevDetail freshness was checked (and Gets planned) in this session. */
    inventoryChecked: boolean('inventory_checked').notNull().default(false),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
    expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
  },
  // The sweep ends idle sessions and removes expired ones by expiry time.
  (t) => [index('dm_sessions_device').on(t.deviceId, t.sessionId), index('dm_sessions_expiry').on(t.expiresAt)],
);

/** Get/Replace/Exec an operator queued for a device; sent at its next session. */
export const dmOperations = pgTable(
  'dm_operations',
  {
    id: text('id').primaryKey(),
    deviceId: text('device_id')
      .notNull()
      .references(() => devices.id),
    command: text('command', { enum: ['Get', 'Replace', 'Exec', 'Add', 'Delete'] }).notNull(),
    uri: text('uri').notNull(),
    data: text('data'),
    format: text('format'),
    type: text('type'),
    correlator: text('correlator'),
    state: text('state', { enum: ['queued', 'sent', 'done', 'failed'] }).notNull(),
    statusCode: bigint('status_code', { mode: 'number' }),
    /** JSON array of {uri, format?, type?, data} from Results. */
    result: text('result'),
    createdBy: text('created_by').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    sentAt: bigint('sent_at', { mode: 'number' }),
    doneAt: bigint('done_at', { mode: 'number' }),
    /** The work item whose user must accept first (user-gate: a profile application, a live query, a fix); null: not gated. */
    gateId: text('gate_id'),
  },
  (t) => [index('dm_operations_device_state').on(t.deviceId, t.state)],
);

export const deployments = pgTable(
  'deployments',
  {
    id: text('id').primaryKey(),
    deviceId: text('device_id')
      .notNull()
      .references(() => devices.id),
    /** The build a firmware deployment delivers; null for a configuration one (profileVersionId). */
    buildId: text('build_id').references(() => builds.id),
    /** The configuration profile version a configuration campaign's deployment applies (profiles/). */
    profileVersionId: text('profile_version_id'),
    packageId: text('package_id').references(() => packages.id),
    state: text('state').notNull(),
    resultCode: bigint('result_code', { mode: 'number' }),
    bytesServed: bigint('bytes_served', { mode: 'number' }).notNull().default(0),
    /** JSON array of {at, state, cause}. */
    history: text('history').notNull().default('[]'),
    /**
     * downloadAndUpdate (one Exec), or twoStep (Exec Download; once the device reports the
     * download, twoStepDownloaded: Exec Update, so the device can confirm in between).
     */
    mode: text('mode', { enum: ['downloadAndUpdate', 'twoStep', 'twoStepDownloaded'] }).notNull().default('downloadAndUpdate'),
    /** Delivery attempts so far; transient failures (network, server unavailable) retry. */
    attempts: bigint('attempts', { mode: 'number' }).notNull().default(0),
    /** Not commanded before this time (ms): the backoff after a transient failure. */
    notBefore: bigint('not_before', { mode: 'number' }),
    /** The campaign and stage this deployment belongs to; null for a one-device deployment. */
    campaignId: text('campaign_id'),
    stage: bigint('stage', { mode: 'number' }),
    createdBy: text('created_by'),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    index('deployments_device').on(t.deviceId),
    index('deployments_state').on(t.state),
    // Counting a stage's deployments by state reads this index only.
    index('deployments_campaign_stage_state').on(t.campaignId, t.stage, t.state),
    // A campaign's bytes served are summed over the deployments that served any.
    index('deployments_campaign_bytes').on(t.campaignId, t.bytesServed).where(sql`${t.bytesServed} > 0`),
    // A campaign's deployments listed a page at a time in id order, without sorting them all.
    index('deployments_campaign_id').on(t.campaignId, t.id),
    // One deployment under way per device, held by the database: two requests (or two
    // server processes) that both found the device free cannot both insert. The predicate
    // is ACTIVE_DEPLOYMENT (queries/deployments.ts), word for word: an ON CONFLICT names it.
    uniqueIndex('deployments_one_active_per_device').on(t.deviceId).where(sql`state NOT IN ('succeeded', 'failed', 'canceled')`),
  ],
);
