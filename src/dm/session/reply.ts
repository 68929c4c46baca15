// Builds the server's reply message: Statuses first (header Status at CmdRef 0), then
// the server's commands, within the MaxMsgSize the device declared. Commands that do not
// fit wait for the next message; only the last message of a package carries Final.
import type { Chal, Command, Cred, Meta, StatusCommand, SyncHdr, SyncMessage } from '../../omadm/codec/message.ts';
import { uiAlert } from '../../omadm/user-interaction.ts';
import { chunkable, chunkItem, nextChunk } from './outgoing-objects.ts';
import type { AwaitedCommand, ServerCommand } from './state.ts';

export interface ReplyInput {
  received: SyncHdr;
  headerStatus: number;
  chal?: Chal;
  statuses: Array<Omit<StatusCommand, 'cmdId'>>;
  commands: ServerCommand[];
  /** Ask the device for the rest of its package (it sent a message without Final). */
  askForMore: boolean;
  msgId: number;
  serverUrl: string;
  respUri?: string;
  cred?: Cred;
  /** Largest reply the device accepts (its MaxMsgSize), if it said. */
  maxMsgSize?: number;
  /** Largest object the device takes in chunks (its MaxObjSize), if it said. */
  maxObjSize?: number;
  ownMaxMsgSize: number;
  /** The server's MaxObjSize: the largest object it takes from the device in chunks. */
  ownMaxObjSize?: number;
  encode: (message: SyncMessage) => Uint8Array;
}

export interface Reply {
  message: SyncMessage;
  bytes: Uint8Array;
  sent: AwaitedCommand[];
  /** Commands that did not fit; they go out in the next message. */
  leftover: ServerCommand[];
  /** Commands that cannot fit any message the device accepts (they would stall the session). */
  tooLarge: ServerCommand[];
}

function toSyncCommand(command: ServerCommand & { chunkEnd?: number }, cmdId: number): Command {
  if (command.kind === 'Alert') return command.ui ? uiAlert(command.ui, cmdId, command.correlator) : { kind: 'Alert', cmdId, data: command.alert?.code ?? '', items: [{ target: command.uri }] };
  const meta = command.format || command.type ? { ...(command.format ? { format: command.format } : {}), ...(command.type ? { type: command.type } : {}) } : undefined;
  // A chunk of a large object (outgoing-objects.ts) carries its Meta in its Item.
  const chunk = chunkItem(command, meta);
  if (chunk) return { kind: 'Replace', cmdId, items: [chunk] };
  const item = { target: command.uri, ...(command.data === undefined ? {} : { data: command.data }) };
  if (command.kind === 'Exec') return { kind: 'Exec', cmdId, ...(meta ? { meta } : {}), ...(command.correlator ? { correlator: command.correlator } : {}), items: [item] };
  return { kind: command.kind, cmdId, ...(meta ? { meta } : {}), items: [item] };
}

export function buildReply(input: ReplyInput): Reply {
  const { received } = input;
  // Optional fields set after the literals, not spread into them: conditional spreads
  // between fields cost ten times as much on Node 20's V8 (persist.ts).
  const header: SyncHdr = {
    verDTD: '1.2',
    verProto: 'DM/1.2',
    sessionId: received.sessionId,
    msgId: input.msgId,
    target: received.source,
    source: input.serverUrl,
  };
  if (input.respUri) header.respUri = input.respUri;
  if (input.cred) header.cred = input.cred;
  const meta: Meta = { maxMsgSize: input.ownMaxMsgSize };
  if (input.ownMaxObjSize) meta.maxObjSize = input.ownMaxObjSize;
  header.meta = meta;
  const headerStatus: StatusCommand = {
    kind: 'Status',
    cmdId: 1,
    msgRef: received.msgId,
    cmdRef: 0,
    cmd: 'SyncHdr',
    targetRefs: [received.target],
    sourceRefs: [received.source],
    data: String(input.headerStatus),
    items: [],
  };
  if (input.chal) headerStatus.chal = input.chal;
  // Object.assign, not { ...s, cmdId }: on Node 20's V8 a literal that starts with a spread
  // and adds a field gets a map of its own each time (about 0.7 µs a field, and every later
  // read of it megamorphic); Object.assign keeps one shape (same keys, same order).
  const statuses: Command[] = [headerStatus, ...input.statuses.map((s, i) => Object.assign({}, s, { cmdId: i + 2 }))];
  let next = statuses.length + 1;
  const more: Command[] = input.askForMore ? [{ kind: 'Alert', cmdId: next++, data: '1222', items: [{ target: received.target, source: received.source }] }] : [];

  let commands = input.commands;
  const tooLarge: ServerCommand[] = [];
  let count = commands.length;
  for (;;) {
    const chosen = commands.slice(0, count);
    const sent = chosen.map((c, i) => Object.assign({}, c, { msgId: input.msgId, cmdId: next + i }));
    const message: SyncMessage = { header, commands: [...statuses, ...more, ...sent.map((c) => toSyncCommand(c, c.cmdId))], final: count === commands.length && !input.askForMore };
    const bytes = input.encode(message);
    // Drop commands from the end until the message fits; Statuses always go.
    if (input.maxMsgSize === undefined || bytes.length <= input.maxMsgSize) return { message, bytes, sent, leftover: commands.slice(count), tooLarge };
    const only = commands[0];
    if (count === 1 && only && input.maxMsgSize !== undefined && chunkable(only, input.maxObjSize)) {
      // A value larger than the message: as much of it as fits, the rest in the next ones.
      const cmdId = next;
      const build = (c: ServerCommand & { chunkEnd: number }) => [...statuses, ...more, toSyncCommand(c, cmdId)];
      // Measured with Final, which only the last chunk's message may carry.
      const split = nextChunk(only, input.maxMsgSize, build, (list) => input.encode({ header, commands: list, final: true }).length);
      if (split) {
        const leftover = [...(split.rest ? [split.rest] : []), ...commands.slice(1)];
        const message: SyncMessage = { header, commands: build(split.chunk), final: leftover.length === 0 && !input.askForMore };
        return { message, bytes: input.encode(message), sent: [Object.assign({}, split.chunk, { msgId: input.msgId, cmdId })], leftover, tooLarge };
      }
    } else if (count === 1 && only) {
      // Too large even in a message with nothing else: it never fits, so it is set aside
      // rather than retried for ever. Otherwise it waits for a message with fewer Statuses.
      const alone = input.encode({ header, commands: [headerStatus, toSyncCommand(only, 2)], final: false });
      if (alone.length > input.maxMsgSize) {
        tooLarge.push(only);
        commands = commands.slice(1);
        count = commands.length;
        continue;
      }
    }
    if (count === 0) return { message, bytes, sent, leftover: commands, tooLarge };
    count -= 1;
  }
}
