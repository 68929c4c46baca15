// Where a download's bytes come from, read one chunk at a time and only when the response
// asks for the next one. Nothing is read ahead: memory per connection stays at a chunk or
// two however slow the client, and no bytes are read for a client that has left.
import { close, read } from 'node:fs';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { AppError } from '../errors.ts';
import type { ByteRange } from '../store/artifacts/artifact-store.ts';

export interface ByteSource {
  /**
   * The next chunk, or null once the bytes asked for are all out. Given `into`, a file
   * source reads into it (the caller promises it is free: its last write has completed)
   * and returns a view of it, so a download reuses one buffer instead of allocating one
   * per chunk, which only a garbage collection would give back.
   */
  read(into?: Buffer): Promise<Uint8Array | null>;
  /** Releases the file or connection; safe to call twice, mid-read, or after the end. */
  close(): Promise<void>;
}

const readFd = promisify(read);
const closeFd = promisify(close);

/**
 * Reads bytes `range.start` to `range.end` (inclusive; the whole file is a range too, so
 * exactly the announced Content-Length goes out) of an open file descriptor, which it
 * then owns. Plain fs.read on a number fd: a FileHandle stream costs about twice the CPU
 * per byte (a promise per read inside it), and a Readable reads ahead.
 */
export function fileSource(fd: number, range: ByteRange, chunkBytes: number, onClose: () => Promise<void>): ByteSource {
  let position = range.start;
  const end = range.end;
  let reading: Promise<unknown> = Promise.resolve();
  let closed: Promise<void> | undefined;
  return {
    async read(into) {
      if (closed || position > end) return null;
      const want = Math.min(into?.length ?? chunkBytes, end - position + 1);
      const pending = readFd(fd, into ?? Buffer.allocUnsafe(want), 0, want, position);
      reading = pending.catch(() => {});
      const { bytesRead, buffer } = await pending;
      // The file is content-addressed and never rewritten: running short means it was
      // damaged, and the response must break off rather than pad or hang.
      if (bytesRead === 0) throw new AppError('INTEGRITY', `the package file ends at byte ${position}, before the ${end + 1} bytes recorded`);
      position += bytesRead;
      return bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    },
    close() {
      closed ??= (async () => {
        // Never close under a read in flight: the fd number could be reused by another
        // open meanwhile, and the read would land in someone else's file.
        await reading;
        await closeFd(fd);
        await onClose();
      })();
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
