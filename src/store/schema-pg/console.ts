// PostgreSQL twin of ../schema/console.ts: device filters saved per console user.
import { bigint, index, pgTable, text } from 'drizzle-orm/pg-core';

export const savedFilters = pgTable(
  'saved_filters',
  {
    id: text('id').primaryKey(),
    owner: text('owner').notNull(),
    name: text('name').notNull(),
    query: text('query').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('saved_filters_owner').on(t.owner)],
);
