// What the console keeps per user: device filters saved under a name (the filter is the
// device list's query string), so an operator finds "EU lab devices that failed" again.
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const savedFilters = sqliteTable(
  'saved_filters',
  {
    id: text('id').primaryKey(),
    /** The person who saved it: filters are per person, whichever of their tokens signed in. */
    owner: text('owner').notNull(),
    name: text('name').notNull(),
    /** The device list's query string, as deviceFilterSchema reads it. */
    query: text('query').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('saved_filters_owner').on(t.owner)],
);
