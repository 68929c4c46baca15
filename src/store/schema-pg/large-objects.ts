// PostgreSQL twin of ../schema/large-objects.ts (test/store/schemas.test.ts).
import { bigint, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';

export const dmObjectChunks = pgTable(
  'dm_object_chunks',
  {
    sessionId: text('session_id').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    uri: text('uri').notNull(),
    declaredSize: bigint('declared_size', { mode: 'number' }).notNull(),
    command: text('command').notNull(),
    msgRef: bigint('msg_ref', { mode: 'number' }).notNull(),
    cmdRef: bigint('cmd_ref', { mode: 'number' }).notNull(),
    getCmdRef: bigint('get_cmd_ref', { mode: 'number' }),
    getMsgRef: bigint('get_msg_ref', { mode: 'number' }),
    format: text('format'),
    type: text('type'),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    data: text('data').notNull(),
  },
  (t) => [primaryKey({ columns: [t.sessionId, t.seq] })],
);
