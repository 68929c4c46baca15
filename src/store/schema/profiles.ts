// Configuration profiles: a named, versioned set of DM node operations for one model
// (profiles/). Versions are immutable once created. An application is one profile version
// sent to one device as queued DM operations (dm_operations); its outcome (every Status,
// the first failing one) is kept here, and the values read back become the device's
// current configuration (device_configuration).
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

export const profiles = sqliteTable(
  'profiles',
  {
    id: text('id').primaryKey(),
    /** Unique across models: `fota campaign create --profile NAME@VERSION` names it alone. */
    name: text('name').notNull(),
    model: text('model').notNull(),
    /** The model's provisioning profile: every device of the model gets its newest version once. */
    provisioning: integer('provisioning', { mode: 'boolean' }).notNull().default(false),
    createdBy: text('created_by').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [uniqueIndex('profiles_name').on(t.name), index('profiles_model').on(t.model, t.provisioning)],
);

export const profileVersions = sqliteTable(
  'profile_versions',
  {
    id: text('id').primaryKey(),
    profileId: text('profile_id')
      .notNull()
      .references(() => profiles.id),
    version: integer('version').notNull(),
    /** JSON array of operations {command, uri, data?, format?, type?, readFirst?}. */
    operations: text('operations').notNull(),
    description: text('description'),
    createdBy: text('created_by').notNull(),
    createdByName: text('created_by_name').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [uniqueIndex('profile_versions_profile_version').on(t.profileId, t.version)],
);

export const profileApplications = sqliteTable(
  'profile_applications',
  {
    id: text('id').primaryKey(),
    deviceId: text('device_id').notNull(),
    profileVersionId: text('profile_version_id').notNull(),
    /** provisioning (first contact), device (on demand), campaign, drift (read back and compare only). */
    reason: text('reason', { enum: ['provisioning', 'device', 'campaign', 'drift'] }).notNull(),
    state: text('state', { enum: ['queued', 'succeeded', 'failed', 'canceled'] }).notNull(),
    /** The configuration campaign's deployment it carries out, if any. */
    deploymentId: text('deployment_id'),
    /** JSON array of the dm_operations ids, in the order they run. */
    operationIds: text('operation_ids').notNull(),
    /** JSON array of {command, uri, status} once settled. */
    statuses: text('statuses'),
    /** The first failing Status (null: every Status was 2xx). */
    failureCode: integer('failure_code'),
    /** Why it failed, in words an operator reads (e.g. the device never answered its commands). */
    failureReason: text('failure_reason'),
    /** Times its commands were sent; unanswered ones (a lost session) go again at the next session, a bounded number of times. */
    attempts: integer('attempts').notNull().default(1),
    /** Drift check: JSON array of {uri, expected, actual} that differ. */
    drift: text('drift'),
    createdBy: text('created_by').notNull(),
    createdAt: integer('created_at').notNull(),
    doneAt: integer('done_at'),
  },
  (t) => [index('profile_applications_device').on(t.deviceId, t.state), index('profile_applications_version').on(t.profileVersionId, t.state)],
);

/** The device's configuration as last read back (or confirmed written) by a profile application. */
export const deviceConfiguration = sqliteTable(
  'device_configuration',
  {
    deviceId: text('device_id').notNull(),
    uri: text('uri').notNull(),
    value: text('value').notNull(),
    profileVersionId: text('profile_version_id').notNull(),
    reportedAt: integer('reported_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.uri] })],
);
