// The chunks of a DM large object a device is sending (schema/large-objects.ts): what is
// open in a session (without the bytes), the bytes once the last chunk came, and the sweep
// of chunks whose session is over.
import { asc, eq, notInArray } from 'drizzle-orm';
import type { dmObjectChunks } from '../schema/index.ts';
import type { Tx } from '../store.ts';

export type ChunkRow = typeof dmObjectChunks.$inferSelect;
export type ChunkInfo = Omit<ChunkRow, 'data'>;

/** The chunks buffered in a session, in order, without their data. */
export async function bufferedChunks(tx: Tx, sessionId: string): Promise<ChunkInfo[]> {
  const { dmObjectChunks: c } = tx.t;
  return tx.q
    .select({ sessionId: c.sessionId, seq: c.seq, uri: c.uri, declaredSize: c.declaredSize, command: c.command, msgRef: c.msgRef, cmdRef: c.cmdRef, getCmdRef: c.getCmdRef, getMsgRef: c.getMsgRef, format: c.format, type: c.type, bytes: c.bytes })
    .from(c)
    .where(eq(c.sessionId, sessionId))
    .orderBy(asc(c.seq));
}

/** The base64 data of a session's chunks, in order. */
export async function chunkData(tx: Tx, sessionId: string): Promise<string[]> {
  const { dmObjectChunks: c } = tx.t;
  const rows = await tx.q.select({ data: c.data }).from(c).where(eq(c.sessionId, sessionId)).orderBy(asc(c.seq));
  return rows.map((r) => r.data);
}

export async function insertChunk(tx: Tx, row: ChunkRow): Promise<void> {
  await tx.q.insert(tx.t.dmObjectChunks).values(row);
}

export async function deleteChunks(tx: Tx, sessionId: string): Promise<void> {
  const { dmObjectChunks: c } = tx.t;
  await tx.q.delete(c).where(eq(c.sessionId, sessionId));
}

/** Chunks of sessions that are no longer open (ended, idle, removed): never completed, dropped. */
export async function deleteChunksOfClosedSessions(tx: Tx): Promise<number> {
  const { dmObjectChunks: c, dmSessions: s } = tx.t;
  const open = tx.q.select({ id: s.id }).from(s).where(eq(s.state, 'open'));
  const gone = await tx.q.delete(c).where(notInArray(c.sessionId, open)).returning({ seq: c.seq });
  return gone.length;
}
