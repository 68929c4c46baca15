// PostgreSQL twin of ../schema/leases.ts (test/store/schemas.test.ts).
import { bigint, pgTable, text } from 'drizzle-orm/pg-core';

export const leases = pgTable('leases', {
  name: text('name').primaryKey(),
  holder: text('holder').notNull(),
  until: bigint('until', { mode: 'number' }).notNull(),
});
