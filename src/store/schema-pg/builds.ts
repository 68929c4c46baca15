// PostgreSQL twin of ../schema/builds.ts: the same tables, columns and indexes (test/store/schemas.test.ts).
// Builds (uploaded firmware images), the signed packages made from them, and the durable
// jobs that make those packages.
import { bigint, index, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { models } from './manufacturers.ts';

export const builds = pgTable(
  'builds',
  {
    id: text('id').primaryKey(),
    modelId: text('model_id')
      .notNull()
      .references(() => models.id),
    version: text('version').notNull(),
    sha256: text('sha256').notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    securityVersion: bigint('security_version', { mode: 'number' }).notNull().default(0),
    status: text('status', { enum: ['processing', 'ready', 'failed'] }).notNull(),
    failureReason: text('failure_reason'),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    readyAt: bigint('ready_at', { mode: 'number' }),
  },
  (t) => [uniqueIndex('builds_model_version').on(t.modelId, t.version)],
);

export const packages = pgTable(
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
    fileSize: bigint('file_size', { mode: 'number' }).notNull(),
    payloadSha256: text('payload_sha256').notNull(),
    payloadSize: bigint('payload_size', { mode: 'number' }).notNull(),
    payloadOffset: bigint('payload_offset', { mode: 'number' }).notNull(),
    /** The signed envelope, as served by GET /api/v1/packages/:id. */
    envelope: text('envelope').notNull(),
    keyid: text('keyid').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('packages_build').on(t.buildId), uniqueIndex('packages_build_source').on(t.buildId, t.sourceBuildId)],
);

export const jobs = pgTable(
  'jobs',
  {
    id: text('id').primaryKey(),
    buildId: text('build_id')
      .notNull()
      .references(() => builds.id),
    sourceBuildId: text('source_build_id').references(() => builds.id),
    state: text('state', { enum: ['queued', 'running', 'done', 'failed'] }).notNull(),
    attempts: bigint('attempts', { mode: 'number' }).notNull().default(0),
    lastError: text('last_error'),
    /** Who runs it and until when; an expired lease means its runner died. */
    leaseOwner: text('lease_owner'),
    leaseUntil: bigint('lease_until', { mode: 'number' }),
    /** What the job produced (a package id), or why it produced none. */
    packageId: text('package_id'),
    note: text('note'),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    finishedAt: bigint('finished_at', { mode: 'number' }),
  },
  (t) => [index('jobs_state').on(t.state, t.createdAt), index('jobs_build').on(t.buildId), uniqueIndex('jobs_build_source').on(t.buildId, t.sourceBuildId)],
);
