// Builds (uploaded firmware images), the signed packages made from them, and the durable
// jobs that make those packages.
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { models } from './manufacturers.ts';

export const builds = sqliteTable(
  'builds',
  {
    id: text('id').primaryKey(),
    modelId: text('model_id')
      .notNull()
      .references(() => models.id),
    version: text('version').notNull(),
    sha256: text('sha256').notNull(),
    size: integer('size').notNull(),
    securityVersion: integer('security_version').notNull().default(0),
    status: text('status', { enum: ['processing', 'ready', 'failed'] }).notNull(),
    failureReason: text('failure_reason'),
    createdAt: integer('created_at').notNull(),
    readyAt: integer('ready_at'),
  },
  (t) => [uniqueIndex('builds_model_version').on(t.modelId, t.version)],
);

export const packages = sqliteTable(
  'packages',
  {
    id: text('id').primaryKey(),
    buildId: text('build_id')
      .notNull()
      .references(() => builds.id),
    /** The build a delta patches; null for the full image. */
    sourceBuildId: text('source_build_id').references(() => builds.id),
    kind: text('kind', { enum: ['bsdiff40', 'full'] }).notNull(),
    fromVersion: text('from_version'),
    toVersion: text('to_version').notNull(),
    /** The .fota file in the artifact store. */
    fileSha256: text('file_sha256').notNull(),
    fileSize: integer('file_size').notNull(),
    payloadSha256: text('payload_sha256').notNull(),
    payloadSize: integer('payload_size').notNull(),
    payloadOffset: integer('payload_offset').notNull(),
    /** The signed envelope, as served by GET /api/v1/packages/:id. */
    envelope: text('envelope').notNull(),
    keyid: text('keyid').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('packages_build').on(t.buildId), uniqueIndex('packages_build_source').on(t.buildId, t.sourceBuildId)],
);

export const jobs = sqliteTable(
  'jobs',
  {
    id: text('id').primaryKey(),
    buildId: text('build_id')
      .notNull()
      .references(() => builds.id),
    sourceBuildId: text('source_build_id').references(() => builds.id),
    state: text('state', { enum: ['queued', 'running', 'done', 'failed'] }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    /** Who runs it and until when; an expired lease means its runner died. */
    leaseOwner: text('lease_owner'),
    leaseUntil: integer('lease_until'),
    /** What the job produced (a package id), or why it produced none. */
    packageId: text('package_id'),
    note: text('note'),
    createdAt: integer('created_at').notNull(),
    finishedAt: integer('finished_at'),
  },
  (t) => [index('jobs_state').on(t.state, t.createdAt), index('jobs_build').on(t.buildId), uniqueIndex('jobs_build_source').on(t.buildId, t.sourceBuildId)],
);
