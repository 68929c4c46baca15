// Chunks of a DM large object a device is sending (Results or Replace split over several
// messages with MoreData), kept until the last chunk arrives: any server process may take
// the next message. Bounded by the server's MaxObjSize (dm/session/large-objects.ts); rows
// of sessions that end or go idle are swept (dm/session/expire.ts).
import { integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const dmObjectChunks = sqliteTable(
  'dm_object_chunks',
  {
    /** The DM session (dm_sessions.id) the object arrives in. */
    sessionId: text('session_id').notNull(),
    /** 0 for the first chunk, then 1, 2, ... */
    seq: integer('seq').notNull(),
    /** The Item's Source (Results) or Target (Replace) URI. */
    uri: text('uri').notNull(),
    /** Meta/Size the first chunk declared (the whole object's). */
    declaredSize: integer('declared_size').notNull(),
    /** The command carrying the chunk (Results, Replace, Add), its MsgID and CmdID. */
    command: text('command').notNull(),
    msgRef: integer('msg_ref').notNull(),
    cmdRef: integer('cmd_ref').notNull(),
    /** For Results: the Get (CmdRef) it answers, and that Get's MsgID. */
    getCmdRef: integer('get_cmd_ref'),
    getMsgRef: integer('get_msg_ref'),
    /** Meta Format and Type of the first chunk's Item. */
    format: text('format'),
    type: text('type'),
    bytes: integer('bytes').notNull(),
    /** The chunk's Data, base64. */
    data: text('data').notNull(),
  },
  (t) => [primaryKey({ columns: [t.sessionId, t.seq] })],
);
