// The checks and the upload meter both artifact backends share: hash names (no path
// tricks), byte ranges, and counting, hashing and limiting bytes as they stream in.
import { createHash, type Hash } from 'node:crypto';
import { AppError } from '../../errors.ts';
import type { ByteRange, PutOptions, StoredObject } from './artifact-store.ts';

export const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Every hash that reaches a path or a key passes here first: only 64 lowercase hex
 * characters, so no caller can smuggle in `..`, a slash or another object's name.
 */
export function assertSha256(value: string, what = 'artifact SHA-256'): void {
  if (!SHA256_HEX.test(value)) {
    throw new AppError('VALIDATION', `${what} must be 64 lowercase hex characters, got ${JSON.stringify(value.slice(0, 80))}`);
  }
}

export function assertRange(range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new AppError('VALIDATION', `byte range ${start}-${end} is not a range of whole bytes with start <= end`);
  }
}

export function rangeBeyondEnd(range: ByteRange, size: number): AppError {
  return new AppError('VALIDATION', `byte range ${range.start}-${range.end} starts past the end of the ${size}-byte object`);
}

/**
 * Counts, hashes and limits the bytes of one upload as they pass through, so both
 * backends enforce `maxBytes`, `onProgress`, `signal` and `expectedSha256` the same way.
 */
export class UploadMeter {
  /** Absent when the caller hashes the bytes elsewhere (the local store: the staged file, on a worker thread). */
  private readonly hash: Hash | undefined;
  private size = 0;

  constructor(
    private readonly options: PutOptions,
    { hashHere = true }: { hashHere?: boolean } = {},
  ) {
    this.hash = hashHere ? createHash('sha256') : undefined;
    if (options.expectedSha256 !== undefined) assertSha256(options.expectedSha256, 'expected SHA-256');
    const { maxBytes } = options;
    if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && maxBytes >= 0)) {
      throw new AppError('VALIDATION', `maxBytes must be a non-negative integer, got ${maxBytes}`);
    }
    options.signal?.throwIfAborted();
  }

  async *measure(source: AsyncIterable<unknown>): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) yield this.take(chunk);
    this.options.signal?.throwIfAborted();
  }

  /** One chunk, synchronously: counted, limited and hashed before it goes anywhere; returned as bytes. */
  take(chunk: unknown): Uint8Array {
    const { maxBytes, onProgress, signal } = this.options;
    signal?.throwIfAborted();
    // A Readable with an encoding set yields strings, whose length is not a byte count.
    if (!(chunk instanceof Uint8Array)) throw new AppError('VALIDATION', 'an artifact source must yield bytes, not strings or objects');
    this.size += chunk.byteLength;
    // Checked before the bytes go anywhere: an oversized upload is cut off at the limit.
    if (maxBytes !== undefined && this.size > maxBytes) {
      throw new AppError('TOO_LARGE', `the upload exceeds the limit of ${maxBytes} bytes`);
    }
    this.hash?.update(chunk);
    onProgress?.(this.size);
    return chunk;
  }

  /** The finished digest (`hashedElsewhere` when not hashed here); throws INTEGRITY when it is not the one the caller announced. */
  finish(hashedElsewhere?: string): StoredObject {
    const sha256 = hashedElsewhere ?? this.hash?.digest('hex');
    if (sha256 === undefined) throw new Error('UploadMeter.finish: no digest (the meter was told not to hash)');
    const expected = this.options.expectedSha256;
    if (expected !== undefined && expected !== sha256) {
      throw new AppError('INTEGRITY', `the uploaded bytes have SHA-256 ${sha256}, not the expected ${expected}`);
    }
    return { sha256, size: this.size };
  }
}
