// PostgreSQL twin of ../schema/profiles.ts (test/store/schemas.test.ts).
// Configuration profiles: a named, versioned set of DM node operations for one model
// (profiles/). Versions are immutable once created. An application is one profile version
// sent to one device as queued DM operations (dm_operations); its outcome (every Status,
// the first failing one) is kept here, and the values read back become the device's
// current configuration (device_configuration).
import { bigint, boolean, index, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';

export const profiles = pgTable(
  'profiles',
  {
    id: text('id').primaryKey(),
    /** Unique across models: `fota campaign create --profile NAME@VERSION` names it alone. */
    name: text('name').notNull(),
    model: text('model').notNull(),
    /** The model's provisioning profile: every device of the model gets its newest version once. */
    provisioning: boolean('provisioning').notNull().default(false),
    createdBy: text('created_by').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [uniqueIndex('profiles_name').on(t.name), index('profiles_model').on(t.model, t.provisioning)],
);

export const profileVersions = pgTable(
  'profile_versions',
  {
    id: text('id').primaryKey(),
    profileId: text('profile_id')
      .notNull()
      .references(() => profiles.id),
    version: bigint('version', { mode: 'number' }).notNull(),
    /** JSON array of operations {command, uri, data?, format?, type?, readFirst?}. */
    operations: text('operations').notNull(),
    description: text('description'),
    createdBy: text('created_by').notNull(),
    createdByName: text('created_by_name').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [uniqueIndex('profile_versions_profile_version').on(t.profileId, t.version)],
);

export const profileApplications = pgTable(
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
    failureCode: bigint('failure_code', { mode: 'number' }),
    /** Why it failed, in words an operator reads (e.g. the device never answered its commands). */
    failureReason: text('failure_reason'),
    /** Times its commands were sent; unanswered ones (a lost session) go again at the next session, a bounded number of times. */
    attempts: bigint('attempts', { mode: 'number' }).notNull().default(1),
    /** Drift check: JSON array of {uri, expected, actual} that differ. */
    drift: text('drift'),
    createdBy: text('created_by').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    doneAt: bigint('done_at', { mode: 'number' }),
  },
  (t) => [index('profile_applications_device').on(t.deviceId, t.state), index('profile_applications_version').on(t.profileVersionId, t.state)],
);

/** The device's configuration as last read back (or confirmed written) by a profile application. */
export const deviceConfiguration = pgTable(
  'device_configuration',
  {
    deviceId: text('device_id').notNull(),
    uri: text('uri').notNull(),
    value: text('value').notNull(),
    profileVersionId: text('profile_version_id').notNull(),
    reportedAt: bigint('reported_at', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.uri] })],
);
