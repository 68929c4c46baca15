// PostgreSQL twin of ../schema/offline-signing.ts: the same tables, columns and indexes (test/store/schemas.test.ts).
// A manufacturer's offline signing, as the server knows it: the roots of offline keys it
// was given (public keys only; the secret halves never reach the server), keys revoked
// on the server before a rotation removed them, the policy that makes a target statement
// mandatory, and the statement each build was uploaded with.
import { bigint, boolean, integer, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { builds } from './builds.ts';
import { manufacturers } from './manufacturers.ts';

export const offlineRoots = pgTable(
  'offline_roots',
  {
    id: text('id').primaryKey(),
    manufacturerId: text('manufacturer_id')
      .notNull()
      .references(() => manufacturers.id),
    version: integer('version').notNull(),
    /** The signed root document, as registered (devices follow the chain of these). */
    envelope: text('envelope').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [uniqueIndex('offline_roots_version').on(t.manufacturerId, t.version)],
);

export const offlineRevocations = pgTable(
  'offline_revocations',
  {
    manufacturerId: text('manufacturer_id')
      .notNull()
      .references(() => manufacturers.id),
    keyid: text('keyid').notNull(),
    revokedAt: bigint('revoked_at', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.manufacturerId, t.keyid] })],
);

export const offlinePolicies = pgTable('offline_policies', {
  manufacturerId: text('manufacturer_id')
    .primaryKey()
    .references(() => manufacturers.id),
  /** Builds without a valid target statement are refused. */
  requireOfflineSigning: boolean('require_offline_signing').notNull().default(false),
  updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
});

export const buildStatements = pgTable('build_statements', {
  buildId: text('build_id')
    .primaryKey()
    .references(() => builds.id),
  /** The manufacturer's signed target statement, embedded in every package of the build. */
  envelope: text('envelope').notNull(),
});
