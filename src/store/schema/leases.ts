// Leases on the server's periodic work (the campaign tick, the Package 0 sender, the DM
// session sweep, ...). Every process runs the same timers; the one holding a unit's lease
// does the work, so it runs once across processes sharing the database, and a holder
// that dies stops renewing: its lease expires and another process takes the work over.
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const leases = sqliteTable('leases', {
  /** The unit of work, e.g. "campaigns.tick". */
  name: text('name').primaryKey(),
  /** The process holding it (its instance id: host, pid and a random part). */
  holder: text('holder').notNull(),
  /** Until when (ms); a lease past this is free for anyone. */
  until: integer('until').notNull(),
});
