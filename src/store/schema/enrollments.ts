// Enrollment batches: devices of one model whose DM accounts fota generated, for a
// factory to flash (bootstrap documents) or to claim on first contact with a credential
// the batch shares. Secrets are sealed by the key vault; the device's own credentials
// live on its devices row like any registered device's.
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { devices } from './devices.ts';

export const enrollmentBatches = sqliteTable(
  'enrollment_batches',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    model: text('model').notNull(),
    size: integer('size').notNull(),
    /** The DMAcc's ServerID (also its node name, ./DMAcc/<serverId>) and AppAddr. */
    serverId: text('server_id').notNull(),
    serverAddress: text('server_address').notNull(),
    authType: text('auth_type', { enum: ['md5', 'basic', 'hmac'] }).notNull(),
    /** The shared claim credential's name (unique across batches) and sealed secrets; null without a claim. */
    claimName: text('claim_name'),
    claimSecretSealed: text('claim_secret_sealed'),
    claimSecretNonce: text('claim_secret_nonce'),
    claimServerSecretSealed: text('claim_server_secret_sealed'),
    claimServerSecretNonce: text('claim_server_secret_nonce'),
    /** A node naming the subscriber (e.g. ./DevDetail/Ext/IMSI): a change provisions the device again. */
    subscriberNode: text('subscriber_node'),
    createdBy: text('created_by').notNull(),
    createdByName: text('created_by_name').notNull(),
    createdAt: integer('created_at').notNull(),
    /** Set by the one export that handed the secrets out; a second export is refused. */
    exportedAt: integer('exported_at'),
    exportedBy: text('exported_by'),
  },
  (t) => [uniqueIndex('enrollment_batches_claim').on(t.claimName), index('enrollment_batches_model').on(t.model)],
);

export const enrollmentDevices = sqliteTable(
  'enrollment_devices',
  {
    deviceId: text('device_id')
      .primaryKey()
      .references(() => devices.id),
    batchId: text('batch_id')
      .notNull()
      .references(() => enrollmentBatches.id),
    /** issued: own credentials flashed; awaiting-claim: still on the claim; enrolled: claimed and rotated. */
    state: text('state', { enum: ['issued', 'awaiting-claim', 'enrolled'] }).notNull(),
    /** Credentials sent in a rotation whose Status has not come back yet (sealed); null otherwise. */
    pendingSecretSealed: text('pending_secret_sealed'),
    pendingSecretNonce: text('pending_secret_nonce'),
    pendingServerSecretSealed: text('pending_server_secret_sealed'),
    pendingServerSecretNonce: text('pending_server_secret_nonce'),
    /** The subscriber identity a pending rotation was sent for (a change of subscriber): recorded when it commits. */
    pendingSubscriberIdentity: text('pending_subscriber_identity'),
    /** The subscriber identity read at the last provisioning (the batch's subscriberNode). */
    subscriberIdentity: text('subscriber_identity'),
    enrolledAt: integer('enrolled_at'),
    /** Credential rotations committed (first contact, and each change of subscriber). */
    rotations: integer('rotations').notNull().default(0),
  },
  (t) => [index('enrollment_devices_batch').on(t.batchId, t.deviceId)],
);
