// Large objects the server sends: a Replace whose value does not fit the device's
// MaxMsgSize goes out as chunks, one per message, each as large as the message allows,
// MoreData on all but the last and Meta/Size (the whole value's bytes) on the first. Only
// to a device that declared a MaxObjSize the value fits in (DM 1.2: a device that states
// none takes no large objects); a value past it fails its operation with 413 instead.
// The rest of a value waits in the session's pending commands (`sentBytes` says how far
// it got) and goes first in the next message; a device that refuses a chunk ends it.
import { cutAt, fitChunk } from '../../omadm/large-object.ts';
import type { Command, Item } from '../../omadm/codec/message.ts';
import type { ClientEffects } from './client-commands.ts';
import { pendingSchema, type ServerCommand } from './state.ts';

const encoder = new TextEncoder();

/** The value's bytes, when the command carries one that could be chunked. */
function valueOf(command: ServerCommand): Uint8Array | undefined {
  return (command.kind === 'Replace' && command.data !== undefined) ? encoder.encode(command.data) : undefined;
}

/** Whether the device may take this command's value as a large object. */
export function chunkable(command: ServerCommand, maxObjSize: number | undefined): boolean {
  const value = valueOf(command);
  return value !== undefined && maxObjSize !== undefined && value.length <= maxObjSize;
}

/** The Item of a command's chunk [sentBytes, chunkEnd): Size on the first, MoreData on all but the last. */
export function chunkItem(command: ServerCommand & { chunkEnd?: number }, meta: Item['meta']): Item | undefined {
  // The last part of a value begun in an earlier message is a chunk too, even when it fits
  // whole. Most commands are neither: answered before their value is encoded.
  if (command.chunkEnd === undefined && command.sentBytes === undefined) return undefined;
  const value = valueOf(command) ?? new Uint8Array(0);
  const end = command.chunkEnd ?? value.length;
  const from = command.sentBytes ?? 0;
  const first = from === 0;
  return {
    target: command.uri,
    ...(meta || first ? { meta: { ...meta, ...(first ? { size: value.length } : {}) } } : {}),
    data: new TextDecoder().decode(value.subarray(from, end)),
    ...(end < value.length ? { moreData: true } : {}),
  };
}

/**
 * The largest chunk of `command` that fits a message built by `build` within `budget`
 * bytes: the chunk to send (with `chunkEnd`) and the rest to send next (with `sentBytes`),
 * or undefined when not even a small chunk fits beside what the message already holds.
 */
export function nextChunk(
  command: ServerCommand,
  budget: number,
  build: (chunk: ServerCommand & { chunkEnd: number }) => Command[],
  size: (commands: Command[]) => number,
): { chunk: ServerCommand & { chunkEnd: number }; rest?: ServerCommand } | undefined {
  const value = valueOf(command);
  if (!value) return undefined;
  const from = command.sentBytes ?? 0;
  const at = (n: number) => ({ ...command, chunkEnd: cutAt(value, from, n) });
  const n = fitChunk(value.length - from, budget, (bytes) => size(build(at(bytes))));
  const chunk = at(n);
  // A chunk that carries nothing would repeat for ever.
  if (n === 0 || chunk.chunkEnd === from) return undefined;
  return { chunk, ...(chunk.chunkEnd < value.length ? { rest: { ...command, sentBytes: chunk.chunkEnd } } : {}) };
}

/** Pending commands kept between messages: a chunked value's rest too, though it carries an operation. */
export function keptPending(leftover: ServerCommand[]): ServerCommand[] {
  return leftover.filter((c) => c.opId === undefined || c.sentBytes !== undefined);
}

/** The session's pending commands without the rest of values whose chunk the device refused. */
export function withoutRefusedValues(pending: string, effects: ClientEffects): string {
  const failed = new Set(effects.operations.filter((o) => o.state === 'failed').map((o) => o.opId));
  if (failed.size === 0) return pending;
  return JSON.stringify(pendingSchema.parse(JSON.parse(pending)).filter((c) => !(c.sentBytes !== undefined && c.opId !== undefined && failed.has(c.opId))));
}
