// Software management (SCOMO): application versions a manufacturer uploads and the signed
// packages made from them, the per-model baseline (the default application set), each
// device's application inventory as last read from ./SCOMO/Inventory/Deployed, and the
// SCOMO deployments (one operation on one component of one device).
import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { devices } from './devices.ts';
import { manufacturers } from './manufacturers.ts';

export const appVersions = sqliteTable(
  'app_versions',
  {
    id: text('id').primaryKey(),
    manufacturerId: text('manufacturer_id')
      .notNull()
      .references(() => manufacturers.id),
    model: text('model').notNull(),
    /** The component id devices report in ./SCOMO/Inventory/Deployed/<x>/ID. */
    component: text('component').notNull(),
    version: text('version').notNull(),
    /** The application's bytes in the artifact store. */
    sha256: text('sha256').notNull(),
    size: integer('size').notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [uniqueIndex('app_versions_component_version').on(t.model, t.component, t.version)],
);

export const appPackages = sqliteTable(
  'app_packages',
  {
    id: text('id').primaryKey(),
    appVersionId: text('app_version_id')
      .notNull()
      .references(() => appVersions.id),
    kind: text('kind', { enum: ['bsdiff40', 'full'] }).notNull(),
    /** The version a delta patches; null for the full package. */
    fromVersion: text('from_version'),
    fileSha256: text('file_sha256').notNull(),
    fileSize: integer('file_size').notNull(),
    payloadSize: integer('payload_size').notNull(),
    envelope: text('envelope').notNull(),
    keyid: text('keyid').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('app_packages_version').on(t.appVersionId)],
);

export const appBaselines = sqliteTable('app_baselines', {
  model: text('model').primaryKey(),
  /** JSON {apps: [{component, version}], forbidden: [component]}. */
  spec: text('spec').notNull(),
  updatedBy: text('updated_by').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export const deviceApps = sqliteTable('device_apps', {
  deviceId: text('device_id')
    .primaryKey()
    .references(() => devices.id),
  /** JSON [{node, component, version, state, name?}] as the device last reported. */
  components: text('components').notNull(),
  readAt: integer('read_at').notNull(),
});

export const scomoDeployments = sqliteTable(
  'scomo_deployments',
  {
    id: text('id').primaryKey(),
    deviceId: text('device_id')
      .notNull()
      .references(() => devices.id),
    component: text('component').notNull(),
    operation: text('operation', { enum: ['install', 'remove', 'activate', 'deactivate'] }).notNull(),
    /** install: one DownloadInstall, or Download then Install (twoStepDownloaded once delivered). */
    mode: text('mode', { enum: ['downloadInstall', 'twoStep', 'twoStepDownloaded'] }).notNull(),
    appVersionId: text('app_version_id').references(() => appVersions.id),
    targetVersion: text('target_version'),
    /** The package sent (chosen against the version the device reported). */
    appPackageId: text('app_package_id'),
    /** The device's node: ./SCOMO/Download/<node> for an install, Inventory/Deployed/<node> otherwise. */
    node: text('node').notNull(),
    state: text('state', { enum: ['scheduled', 'commanded', 'succeeded', 'failed', 'canceled'] }).notNull(),
    resultCode: integer('result_code'),
    attempts: integer('attempts').notNull().default(0),
    /** baseline: made by reconciliation; operator: asked for by a person; campaign: an application campaign's deployment. */
    reason: text('reason', { enum: ['baseline', 'operator', 'campaign'] }).notNull(),
    /** campaign: the campaign deployment (deployments.id) this operation carries out; its result settles it. */
    deploymentId: text('deployment_id'),
    history: text('history').notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [
    index('scomo_deployments_device').on(t.deviceId, t.state),
    index('scomo_deployments_deployment').on(t.deploymentId),
    // One open operation per component of a device, held by the database: two requests (or
    // two server processes) that both found the component free cannot both insert.
    uniqueIndex('scomo_deployments_one_open').on(t.deviceId, t.component).where(sql`state IN ('scheduled', 'commanded')`),
  ],
);
