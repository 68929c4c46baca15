// Large objects a device sends (DM 1.2: Results or Replace split over messages with
// MoreData, Meta/Size on the first chunk). A phase between decoding and reading the
// device's commands: chunks are buffered in the database (any server process may take the
// next message), answered 213, and the last one becomes one whole command that
// client-commands.ts reads as if it had come in one piece. A chunk that breaks the rules
// (no size, a size past the server's MaxObjSize, bytes that do not add up, a message that
// ends without continuing the object) gets its status (424, 413), the buffered bytes are
// dropped, and the Get it answered fails with that code: nothing half-received is stored
// as a value. Buffered bytes never exceed MaxObjSize; what a session leaves unfinished is
// swept with it (expire.ts).
import { CHUNK_ACCEPTED, dataBytes, END_OF_DATA_MISSING, OBJECT_TOO_LARGE, type OpenObject, takeChunk } from '../../omadm/large-object.ts';
import type { Command, Item, ItemCommand, ResultsCommand, StatusCommand, SyncHdr } from '../../omadm/codec/message.ts';
import { type ChunkInfo, type ChunkRow, bufferedChunks, chunkData, deleteChunks, insertChunk } from '../../store/queries/large-objects.ts';
import type { Tx } from '../../store/store.ts';
import type { ClientEffects } from './client-commands.ts';
import type { ServerCommand } from './state.ts';

/** The commands that carry values (a Delete, Copy or Get from a device is refused elsewhere). */
type DataCommand = ResultsCommand | ItemCommand;

/** The object being received, as its first chunk described it. */
interface Receiving extends OpenObject {
  command: string;
  getMsgRef?: number;
  getCmdRef?: number;
  format?: string;
  type?: string;
  /** Chunks already stored (in earlier messages), then those of this message. */
  seq: number;
}

interface Failure {
  getMsgRef?: number;
  getCmdRef?: number;
  code: number;
  reason: string;
}

export interface Assembled {
  /** The device's commands with chunks taken out and completed objects put back whole. */
  commands: Command[];
  /** Statuses the chunks get (213, 424, 413), beside those client-commands.ts gives. */
  statuses: Array<Omit<StatusCommand, 'cmdId'>>;
  /** Gets whose answer failed as an object (their operation fails with the code). */
  failures: Failure[];
  /** URIs of objects that came whole from chunks (kept out of the inventory). */
  completed: string[];
  /** Objects the device left unfinished: the server says so with Alert 1225. */
  interrupted: string[];
  /** What to write, in the message's transaction. */
  writes: { insert: ChunkRow[]; clear: boolean };
  /** An object is still being received after this message (or undefined: none was, none is). */
  open?: boolean;
}

const hasChunks = (commands: Command[]) => commands.some((c) => (c.kind === 'Results' || c.kind === 'Replace' || c.kind === 'Add') && c.items.some((i) => i.moreData));

/**
 * What the session has buffered. Read only while the session is receiving an object (its
 * row says so) or this message carries a chunk: the common message costs no query.
 */
export async function buffered(db: Tx, session: { id: string; receivingObject: boolean } | undefined, commands: Command[]): Promise<ChunkInfo[]> {
  if (session === undefined || !(session.receivingObject || hasChunks(commands))) return [];
  return bufferedChunks(db, session.id);
}

function receivingOf(rows: ChunkInfo[]): Receiving | undefined {
  const first = rows[0];
  if (!first) return undefined;
  return {
    uri: first.uri,
    declaredSize: first.declaredSize,
    received: rows.reduce((sum, r) => sum + r.bytes, 0),
    command: first.command,
    ...(first.getMsgRef === null ? {} : { getMsgRef: first.getMsgRef }),
    ...(first.getCmdRef === null ? {} : { getCmdRef: first.getCmdRef }),
    ...(first.format === null ? {} : { format: first.format }),
    ...(first.type === null ? {} : { type: first.type }),
    seq: rows.length,
  };
}

function status(header: SyncHdr, command: DataCommand, item: Item, code: number, maxObjSize?: number): Omit<StatusCommand, 'cmdId'> {
  return {
    kind: 'Status',
    msgRef: header.msgId,
    cmdRef: command.cmdId,
    cmd: command.kind,
    targetRefs: item.target ? [item.target] : [],
    sourceRefs: item.source ? [item.source] : [],
    data: String(code),
    // 413 says what the limit is, so the device can send less.
    items: maxObjSize === undefined ? [] : [{ meta: { maxObjSize } }],
  };
}

/**
 * Takes the chunks out of a message. `rows` is what the session buffered before (buffered()),
 * `load` reads their bytes when the last chunk arrives. Pure but for that read.
 */
export async function assemble(
  header: SyncHdr,
  commands: Command[],
  final: boolean,
  input: {
    sessionId: string;
    rows: ChunkInfo[];
    maxObjSize: number;
    load: () => Promise<string[]>;
    /** Whether a Results answers a Get the server awaits: only those may begin an object. */
    answersGet: (msgRef: number | undefined, cmdRef: number) => boolean;
  },
): Promise<Assembled> {
  const out: Assembled = { commands: [], statuses: [], failures: [], completed: [], interrupted: [], writes: { insert: [], clear: false } };
  let open = receivingOf(input.rows);
  if (!open && !hasChunks(commands)) {
    // Every message but those of a large object: the commands as they came, set in place (a
    // spread of the rest took V8's generic copy).
    out.commands = commands;
    return out;
  }
  const earlier: Array<() => Promise<string[]>> = [input.load];
  const drop = (failure?: Omit<Failure, 'getMsgRef' | 'getCmdRef'>) => {
    if (open && failure) out.failures.push({ ...linkOf(open, undefined), ...failure });
    open = undefined;
    out.writes = { insert: [], clear: true };
    earlier.length = 0;
  };

  for (const command of commands) {
    if (command.kind !== 'Results' && command.kind !== 'Replace' && command.kind !== 'Add') {
      out.commands.push(command);
      continue;
    }
    const kept: Item[] = [];
    let answered: Omit<StatusCommand, 'cmdId'> | undefined;
    for (const item of command.items) {
      const uri = item.source ?? item.target ?? '';
      if (open && (uri !== open.uri || command.kind !== open.command)) {
        // Anything else carrying data before the object's last chunk interrupts it.
        out.interrupted.push(open.uri);
        drop({ code: 424, reason: `${open.uri} was interrupted by ${command.kind} of ${uri || 'no URI'} after ${open.received} of ${open.declaredSize} bytes` });
      }
      const bytes = dataBytes(item.data);
      if (!open && item.moreData && command.kind === 'Results' && !input.answersGet(command.msgRef, command.cmdRef)) {
        // Nothing is buffered for a value the server never asked for.
        answered = status(header, command, item, 400);
        continue;
      }
      const verdict = takeChunk(open, { uri, ...(item.meta?.size === undefined ? {} : { size: item.meta.size }), bytes: bytes.length, moreData: item.moreData === true }, input.maxObjSize);
      if (verdict.kind === 'whole') {
        kept.push(item);
        continue;
      }
      if (verdict.kind === 'refused') {
        out.failures.push({ ...linkOf(open, command), code: verdict.status, reason: verdict.reason });
        drop();
        answered = status(header, command, item, verdict.status, verdict.status === OBJECT_TOO_LARGE ? input.maxObjSize : undefined);
        continue;
      }
      if (verdict.kind === 'buffered') {
        if (!open) {
          open = {
            ...verdict.open,
            command: command.kind,
            ...(command.kind === 'Results' ? { getCmdRef: command.cmdRef, ...(command.msgRef === undefined ? {} : { getMsgRef: command.msgRef }) } : {}),
            ...(item.meta?.format ? { format: item.meta.format } : {}),
            ...(item.meta?.type ? { type: item.meta.type } : {}),
            seq: 0,
          };
        } else open = { ...open, received: verdict.open.received };
        out.writes.insert.push(chunkRow(input.sessionId, open, command, header.msgId, bytes));
        open.seq += 1;
        answered = status(header, command, item, CHUNK_ACCEPTED);
        continue;
      }
      // The last chunk: the whole value, as one Item of the command that began it.
      const stored = (await Promise.all(earlier.map((load) => load()))).flat();
      const pending = out.writes.insert.map((row) => row.data);
      const whole = Buffer.concat([...stored, ...pending].map((b64) => Buffer.from(b64, 'base64')).concat([Buffer.from(bytes)]));
      const done = open;
      if (!done) continue;
      out.completed.push(done.uri);
      kept.push({ ...(item.source ? { source: item.source } : {}), ...(item.target ? { target: item.target } : {}), meta: { ...(done.format ? { format: done.format } : {}), ...(done.type ? { type: done.type } : {}), size: verdict.size }, data: whole.toString('utf8') });
      if (command.kind === 'Results') {
        // Read as the Results of the Get the first chunk answered.
        out.commands.push({ ...command, ...(done.getMsgRef === undefined ? {} : { msgRef: done.getMsgRef }), ...(done.getCmdRef === undefined ? {} : { cmdRef: done.getCmdRef }), items: [...kept] });
        kept.length = 0;
        answered = undefined;
      }
      open = undefined;
      out.writes = { insert: [], clear: true };
      earlier.length = 0;
    }
    if (answered) out.statuses.push(answered);
    if (kept.length > 0) out.commands.push({ ...command, items: kept });
  }
  if (open && final) {
    // The device ended its package with an object unfinished: it will never come.
    out.interrupted.push(open.uri);
    drop({ code: 424, reason: `the device's package ended after ${open.received} of ${open.declaredSize} bytes of ${open.uri}` });
  }
  out.open = open !== undefined;
  return out;
}

/** The Get a failed object answers: the open object's, or the Results command's own. */
function linkOf(open: Receiving | undefined, command: DataCommand | undefined): Pick<Failure, 'getMsgRef' | 'getCmdRef'> {
  const from = open ?? (command?.kind === 'Results' ? { getCmdRef: command.cmdRef, getMsgRef: command.msgRef } : {});
  return { ...(from.getMsgRef === undefined ? {} : { getMsgRef: from.getMsgRef }), ...(from.getCmdRef === undefined ? {} : { getCmdRef: from.getCmdRef }) };
}

function chunkRow(sessionId: string, open: Receiving, command: DataCommand, msgId: number, bytes: Uint8Array): ChunkRow {
  return {
    sessionId,
    seq: open.seq,
    uri: open.uri,
    declaredSize: open.declaredSize,
    command: command.kind,
    msgRef: msgId,
    cmdRef: command.cmdId,
    getCmdRef: open.getCmdRef ?? null,
    getMsgRef: open.getMsgRef ?? null,
    format: open.format ?? null,
    type: open.type ?? null,
    bytes: bytes.length,
    data: Buffer.from(bytes).toString('base64'),
  };
}

/**
 * Folds the chunks' outcome into what client-commands.ts read: their statuses, the Gets
 * whose objects failed (the operation fails with the code, the Get is no longer awaited),
 * and no multi-megabyte values in the device's inventory (they stay in the operation).
 */
export function applyAssembled(effects: ClientEffects, assembled: Assembled): void {
  effects.statuses.push(...assembled.statuses);
  for (const failure of assembled.failures) {
    const entry = effects.awaiting.find((a) => a.kind === 'Get' && a.cmdId === failure.getCmdRef && (failure.getMsgRef === undefined || a.msgId === failure.getMsgRef));
    if (!entry) continue;
    effects.awaiting = effects.awaiting.filter((a) => a !== entry);
    if (entry.opId) effects.operations = [...effects.operations.filter((o) => o.opId !== entry.opId), { opId: entry.opId, state: 'failed', statusCode: failure.code }];
  }
  for (const uri of assembled.completed) delete effects.inventory[uri];
}

/** Alert 1225 for each object the device left unfinished, ahead of the server's commands. */
export function interruptionAlerts(assembled: Assembled): ServerCommand[] {
  return assembled.interrupted.map((uri) => ({ kind: 'Alert', uri, alert: { code: END_OF_DATA_MISSING }, purpose: 'operation' }));
}

/** Stores this message's chunks (or clears the session's, once an object completed or failed). */
export async function storeChunks(tx: Tx, sessionId: string, writes: Assembled['writes']): Promise<void> {
  if (writes.clear) await deleteChunks(tx, sessionId);
  for (const row of writes.insert) await insertChunk(tx, row);
}

export { chunkData };
