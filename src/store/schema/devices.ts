// Devices and their deployments. The DM and FUMO issues extend these; the package
// pipeline already reads the fleet census (which versions devices of a model run).
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { builds, packages } from './builds.ts';

export const devices = sqliteTable(
  'devices',
  {
    id: text('id').primaryKey(),
    model: text('model').notNull(),
    firmwareVersion: text('firmware_version'),
    /** JSON array of strings. */
    tags: text('tags').notNull().default('[]'),
    createdAt: integer('created_at').notNull(),
    lastSeen: integer('last_seen'),
  },
  (t) => [index('devices_model_version').on(t.model, t.firmwareVersion)],
);

export const deployments = sqliteTable(
  'deployments',
  {
    id: text('id').primaryKey(),
    deviceId: text('device_id')
      .notNull()
      .references(() => devices.id),
    buildId: text('build_id')
      .notNull()
      .references(() => builds.id),
    packageId: text('package_id').references(() => packages.id),
    state: text('state').notNull(),
    resultCode: integer('result_code'),
    bytesServed: integer('bytes_served').notNull().default(0),
    /** JSON array of {at, state, cause}. */
    history: text('history').notNull().default('[]'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('deployments_device').on(t.deviceId)],
);
