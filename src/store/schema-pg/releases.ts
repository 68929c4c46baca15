// PostgreSQL twin of ../schema/releases.ts (test/store/schemas.test.ts).
import { bigint, index, pgTable, text } from 'drizzle-orm/pg-core';
import { builds } from './builds.ts';

export const releases = pgTable(
  'releases',
  {
    id: text('id').primaryKey(),
    buildId: text('build_id')
      .notNull()
      .references(() => builds.id),
    model: text('model').notNull(),
    cohort: text('cohort').notNull(),
    window: text('window'),
    createdBy: text('created_by').notNull(),
    createdByName: text('created_by_name').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    withdrawnAt: bigint('withdrawn_at', { mode: 'number' }),
  },
  (t) => [index('releases_model').on(t.model, t.withdrawnAt)],
);
