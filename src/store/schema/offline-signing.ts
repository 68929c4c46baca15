// A manufacturer's offline signing, as the server knows it: the roots of offline keys it
// was given (public keys only; the secret halves never reach the server), keys revoked
// on the server before a rotation removed them, the policy that makes a target statement
// mandatory, and the statement each build was uploaded with.
import { integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { builds } from './builds.ts';
import { manufacturers } from './manufacturers.ts';

export const offlineRoots = sqliteTable(
  'offline_roots',
  {
    id: text('id').primaryKey(),
    manufacturerId: text('manufacturer_id')
      .notNull()
      .references(() => manufacturers.id),
    version: integer('version').notNull(),
    /** The signed root document, as registered (devices follow the chain of these). */
    envelope: text('envelope').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [uniqueIndex('offline_roots_version').on(t.manufacturerId, t.version)],
);

export const offlineRevocations = sqliteTable(
  'offline_revocations',
  {
    manufacturerId: text('manufacturer_id')
      .notNull()
      .references(() => manufacturers.id),
    keyid: text('keyid').notNull(),
    revokedAt: integer('revoked_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.manufacturerId, t.keyid] })],
);

export const offlinePolicies = sqliteTable('offline_policies', {
  manufacturerId: text('manufacturer_id')
    .primaryKey()
    .references(() => manufacturers.id),
  /** Builds without a valid target statement are refused. */
  requireOfflineSigning: integer('require_offline_signing', { mode: 'boolean' }).notNull().default(false),
  updatedAt: integer('updated_at').notNull(),
});

export const buildStatements = sqliteTable('build_statements', {
  buildId: text('build_id')
    .primaryKey()
    .references(() => builds.id),
  /** The manufacturer's signed target statement, embedded in every package of the build. */
  envelope: text('envelope').notNull(),
});
