// Where a download's bytes come from, one chunk at a time and only when the response asks
// for the next one. Nothing is read ahead per connection: a local object's chunks are
// views of blocks shared by every download (block-cache.ts), and a stream from S3 holds a
// chunk or two however slow the client.
import type { Readable } from 'node:stream';
import type { ByteRange } from '../store/artifacts/artifact-store.ts';
import { BLOCK_BYTES, type BlockCache, type BlockKey } from './block-cache.ts';

/** A byte range of a file the kernel can send as it is (`end` inclusive). */
export interface FileRange {
  path: string;
  /** The file's modified time, when known: a file replaced under the path is opened afresh. */
  version?: number;
  start: number;
  end: number;
}

export interface ByteSource {
  /** The next chunk, or null once the bytes asked for are all out. */
  read(): Promise<Uint8Array | null>;
  /**
   * The same as read() when the next chunk is at hand already (a block in memory): the
   * chunk or null, with no promise; undefined when it is not, and read() must fetch it.
   * Sources without it are always read through read().
   */
  readReady?(): Uint8Array | null | undefined;
  /** Releases the file or connection; safe to call twice, mid-read, or after the end. */
  close(): Promise<void>;
  /**
   * The same bytes as a range of a file, when the kernel may send them from there itself
   * (sendfile.ts); the source is then closed without being read.
   */
  file?: FileRange;
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
export function cachedFileSource(cache: BlockCache, key: BlockKey, range: ByteRange, onClose: () => Promise<void>, sendfile = false): ByteSource {
  let position = range.start;
  const end = range.end;
  let closed: Promise<void> | undefined;
  // The block the last chunk came from: the next three chunks or so come from it too,
  // without asking the cache again.
  let current: { index: number; block: Buffer } | undefined;
  const chunkOf = (index: number, block: Buffer) => {
    current = { index, block };
    const blockStart = index * BLOCK_BYTES;
    const from = position - blockStart;
    const to = Math.min(end + 1 - blockStart, block.length, from + WRITE_BYTES);
    position = blockStart + to;
    return block.subarray(from, to);
  };
  return {
    ...(sendfile ? { file: { path: key.path, version: key.modifiedAt, start: range.start, end } } : {}),
    async read() {
      if (closed || position > end) return null;
      const index = Math.floor(position / BLOCK_BYTES);
      return chunkOf(index, current?.index === index ? current.block : await cache.block(key, index));
    },
    readReady() {
      if (closed || position > end) return null;
      const index = Math.floor(position / BLOCK_BYTES);
      const block = current?.index === index ? current.block : cache.readyBlock(key, index);
      return block ? chunkOf(index, block) : undefined;
    },
    close() {
      current = undefined;
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
