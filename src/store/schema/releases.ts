// Releases: a build the operator offers to a cohort for updates the device (or its user)
// asks for, apart from any campaign. Nothing is pushed; a device that asks gets the newest
// matching release. Withdrawn releases stay for the record.
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { builds } from './builds.ts';

export const releases = sqliteTable(
  'releases',
  {
    id: text('id').primaryKey(),
    buildId: text('build_id')
      .notNull()
      .references(() => builds.id),
    model: text('model').notNull(),
    /** The cohort filter as JSON, as campaigns store it: {model, versions?, tags?, deviceIds?}. */
    cohort: text('cohort').notNull(),
    /** Maintenance window as JSON {timeZone, days, start, end}, or null: any time. */
    window: text('window'),
    createdBy: text('created_by').notNull(),
    createdByName: text('created_by_name').notNull(),
    createdAt: integer('created_at').notNull(),
    withdrawnAt: integer('withdrawn_at'),
  },
  // A device's request reads the model's releases still offered.
  (t) => [index('releases_model').on(t.model, t.withdrawnAt)],
);
