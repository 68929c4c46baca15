// Helpdesk live queries: an operator asks one device for a set of nodes now. Each node is
// an ordinary device operation (dm_operations: a Get, or the Replace that fixes a value),
// so the DM session sends and records it as any other; these tables say which operations
// make up which query, in what order, and how deep an interior node is followed.
import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { devices, dmOperations } from './devices.ts';

export const deviceQueries = sqliteTable(
  'device_queries',
  {
    id: text('id').primaryKey(),
    deviceId: text('device_id')
      .notNull()
      .references(() => devices.id),
    /** JSON array of the preset names asked for. */
    presets: text('presets').notNull().default('[]'),
    /** What the Package 0 came to, as JSON {delivered, reason?, sessionId}; null: the query waits for the device's poll. */
    wake: text('wake'),
    createdBy: text('created_by').notNull(),
    createdByName: text('created_by_name').notNull(),
    createdAt: integer('created_at').notNull(),
    /** When the query stopped: canceled by an operator, or expired unread (devices/helpdesk/cancel.ts); its reason. */
    canceledAt: integer('canceled_at'),
    canceledReason: text('canceled_reason'),
  },
  // A device's queries, newest first (the console panel, pruning the oldest); the open ones
  // by age, for the sweep that expires those a device never picked up.
  (t) => [index('device_queries_device').on(t.deviceId, t.createdAt), index('device_queries_open').on(t.createdAt).where(sql`canceled_at IS NULL`)],
);

export const deviceQueryNodes = sqliteTable(
  'device_query_nodes',
  {
    opId: text('op_id')
      .primaryKey()
      .references(() => dmOperations.id),
    queryId: text('query_id')
      .notNull()
      .references(() => deviceQueries.id),
    /** Order in the query: the operator's order, children after their parent. */
    position: integer('position').notNull(),
    /** The preset that asked for the node, 'node' for a path typed in, 'fix' for a Replace. */
    source: text('source').notNull(),
    /** Levels of children still to read when the node answers as an interior node (Format node). */
    depth: integer('depth').notNull().default(0),
  },
  (t) => [index('device_query_nodes_query').on(t.queryId, t.position)],
);
