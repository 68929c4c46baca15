// DM 1.2 large objects: a value bigger than one message travels as chunks of one Item
// (Results, Replace or Add) over several messages. Every chunk but the last carries
// <MoreData/>, the first declares the whole size in Meta/Size, the receiver answers 213 to
// each chunk it buffers, 424 when the bytes received do not add up to the declared size
// and 413 when the declared size passes its MaxObjSize. This module holds the rules both
// sides share (the server's session and the reference agent): where to cut a value, how
// much fits a message, and what a receiver answers to each chunk. No I/O.
import type { Item } from './codec/message.ts';

/** Status: a non-final chunk was received and buffered. */
export const CHUNK_ACCEPTED = 213;
/** Status: the chunks do not add up to the declared Meta/Size (or the first declares none). */
export const SIZE_MISMATCH = 424;
/** Status: the declared size passes the receiver's MaxObjSize. */
export const OBJECT_TOO_LARGE = 413;
/** Alert: a chunked object was interrupted (the next message did not continue it). */
export const END_OF_DATA_MISSING = '1225';

/** The bytes of an Item's Data: text as UTF-8, WBXML OPAQUE as it came. */
export function dataBytes(data: Item['data']): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  return typeof data === 'string' ? new TextEncoder().encode(data) : data;
}

/**
 * Where a chunk of at most `max` bytes starting at `offset` ends without cutting a UTF-8
 * character in two (a chunk sent as text must be text on its own). Never less than one
 * character past `offset` unless `max` is 0.
 */
export function cutAt(bytes: Uint8Array, offset: number, max: number): number {
  let end = Math.min(bytes.length, offset + Math.max(0, max));
  if (end >= bytes.length) return bytes.length;
  // Back off continuation bytes (10xxxxxx): the cut falls before a character's first byte.
  while (end > offset && ((bytes[end] ?? 0) & 0xc0) === 0x80) end -= 1;
  return end;
}

/**
 * The largest chunk length (bytes of data) whose message still encodes within `budget`
 * bytes; `sizeWith(n)` encodes the message with an n-byte chunk and returns its length. 0
 * when not even an empty chunk fits. Starts from the overhead and corrects for what
 * encoding adds (XML escapes), so it encodes a handful of times, not once per byte.
 */
export function fitChunk(remaining: number, budget: number, sizeWith: (n: number) => number): number {
  const overhead = sizeWith(0);
  if (overhead >= budget) return 0;
  let n = Math.min(remaining, budget - overhead);
  for (let tries = 0; tries < 32 && n > 0; tries++) {
    const size = sizeWith(n);
    if (size <= budget) return n;
    n = Math.max(0, n - (size - budget) - 8);
  }
  return 0;
}

/** A chunked object being received: whose, how big it says it is, how much came. */
export interface OpenObject {
  uri: string;
  declaredSize: number;
  received: number;
}

export interface ChunkIn {
  uri: string;
  /** Meta/Size of this chunk's Item (the first chunk's is the whole object's). */
  size?: number;
  /** Bytes of Data this chunk carries. */
  bytes: number;
  moreData: boolean;
}

export type ChunkVerdict =
  /** Not a chunk at all: a whole value in one Item. */
  | { kind: 'whole' }
  /** Buffered; answer 213 and wait for the next. */
  | { kind: 'buffered'; open: OpenObject }
  /** The last chunk: the object is complete and its size is what was declared. */
  | { kind: 'complete'; size: number }
  /** Refused: answer `status`, drop what was buffered. */
  | { kind: 'refused'; status: typeof SIZE_MISMATCH | typeof OBJECT_TOO_LARGE; reason: string };

/**
 * What a receiver does with one Item, given the object it is receiving (if any) and its
 * MaxObjSize. The caller checks first that the Item continues `open` (the same URI, the
 * next thing in the message); one that does not interrupts it (Alert 1225) and comes here
 * with `open` undefined.
 */
export function takeChunk(open: OpenObject | undefined, chunk: ChunkIn, maxObjSize: number): ChunkVerdict {
  if (open === undefined) {
    if (!chunk.moreData) return { kind: 'whole' };
    if (chunk.size === undefined) return { kind: 'refused', status: SIZE_MISMATCH, reason: `the first chunk of ${chunk.uri} declares no Meta/Size` };
    if (chunk.size > maxObjSize) return { kind: 'refused', status: OBJECT_TOO_LARGE, reason: `${chunk.uri} declares ${chunk.size} bytes; MaxObjSize is ${maxObjSize}` };
    if (chunk.bytes >= chunk.size) return { kind: 'refused', status: SIZE_MISMATCH, reason: `the first chunk of ${chunk.uri} already holds ${chunk.bytes} of the ${chunk.size} bytes declared, and says more follows` };
    return { kind: 'buffered', open: { uri: chunk.uri, declaredSize: chunk.size, received: chunk.bytes } };
  }
  const received = open.received + chunk.bytes;
  if (received > open.declaredSize) return { kind: 'refused', status: SIZE_MISMATCH, reason: `${open.uri} sent ${received} bytes; it declared ${open.declaredSize}` };
  if (chunk.moreData) {
    if (received === open.declaredSize) return { kind: 'refused', status: SIZE_MISMATCH, reason: `${open.uri} sent all ${received} bytes declared and says more follows` };
    return { kind: 'buffered', open: { ...open, received } };
  }
  if (received !== open.declaredSize) return { kind: 'refused', status: SIZE_MISMATCH, reason: `${open.uri} ended after ${received} bytes; it declared ${open.declaredSize}` };
  return { kind: 'complete', size: received };
}
