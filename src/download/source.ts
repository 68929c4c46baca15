// Where a download's bytes come from, one chunk at a time and only when the response asks
// for the next one. Nothing is read ahead per connection: a local object's chunks are
// views of blocks shared by every download (block-cache.ts), and a stream from S3 holds a
// chunk or two however slow the client.
import type { Readable } from 'node:stream';
import type { ByteRange } from '../store/artifacts/artifact-store.ts';
import { BLOCK_BYTES, type BlockCache, type BlockKey } from './block-cache.ts';

export interface ByteSource {
  /** The next chunk, or null once the bytes asked for are all out. */
  read(): Promise<Uint8Array | null>;
  /** Releases the file or connection; safe to call twice, mid-read, or after the end. */
  close(): Promise<void>;
}

/**
 * Most bytes one chunk hands to the socket. Larger writes cost less CPU per byte up to
 * about this size; past it they only let one write put more into the kernel's buffers
 * before it is counted, which a client that hangs up has not received.
 */
export const WRITE_BYTES = 256 * 1024;

/**
 * Bytes `range.start` to `range.end` (inclusive; the whole file is a range too, so exactly
 * the announced Content-Length goes out) of a local object, as views of the blocks the
 * cache holds: nothing is copied and nothing is allocated per download.
 */
export function cachedFileSource(cache: BlockCache, key: BlockKey, range: ByteRange, onClose: () => Promise<void>): ByteSource {
  let position = range.start;
  const end = range.end;
  let closed: Promise<void> | undefined;
  return {
    async read() {
      if (closed || position > end) return null;
      const index = Math.floor(position / BLOCK_BYTES);
      const blockStart = index * BLOCK_BYTES;
      const block = await cache.block(key, index);
      const from = position - blockStart;
      const to = Math.min(end + 1 - blockStart, block.length, from + WRITE_BYTES);
      position = blockStart + to;
      return block.subarray(from, to);
    },
    close() {
      closed ??= onClose();
      return closed;
    },
  };
}

/** A stream from the artifact store (S3), read through its async iterator. */
export function streamSource(stream: Readable): ByteSource {
  const chunks = (stream as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  let closed: Promise<void> | undefined;
  return {
    async read() {
      if (closed) return null;
      const next = await chunks.next();
      return next.done ? null : next.value;
    },
    close() {
      closed ??= (async () => {
        await chunks.return?.();
        // Ending the iteration destroys it already; this covers a stream never read from.
        stream.destroy();
      })();
      return closed;
    },
  };
}
