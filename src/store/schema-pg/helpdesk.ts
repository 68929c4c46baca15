// PostgreSQL twin of ../schema/helpdesk.ts (test/store/schemas.test.ts).
import { sql } from 'drizzle-orm';
import { bigint, index, integer, pgTable, text } from 'drizzle-orm/pg-core';
import { devices, dmOperations } from './devices.ts';

export const deviceQueries = pgTable(
  'device_queries',
  {
    id: text('id').primaryKey(),
    deviceId: text('device_id')
      .notNull()
      .references(() => devices.id),
    presets: text('presets').notNull().default('[]'),
    wake: text('wake'),
    createdBy: text('created_by').notNull(),
    createdByName: text('created_by_name').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    canceledAt: bigint('canceled_at', { mode: 'number' }),
    canceledReason: text('canceled_reason'),
  },
  (t) => [index('device_queries_device').on(t.deviceId, t.createdAt), index('device_queries_open').on(t.createdAt).where(sql`canceled_at IS NULL`)],
);

export const deviceQueryNodes = pgTable(
  'device_query_nodes',
  {
    opId: text('op_id')
      .primaryKey()
      .references(() => dmOperations.id),
    queryId: text('query_id')
      .notNull()
      .references(() => deviceQueries.id),
    position: integer('position').notNull(),
    source: text('source').notNull(),
    depth: integer('depth').notNull().default(0),
  },
  (t) => [index('device_query_nodes_query').on(t.queryId, t.position)],
);
