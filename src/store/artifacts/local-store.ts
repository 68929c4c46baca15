// The embedded artifact store: a content-addressed directory, `<root>/<2 hex>/<sha256>`.
// Uploads land in `<root>/.staging` and are renamed into place only when complete and
// hashed, so a listed object is always whole. Also home of the checks and the upload meter
// both backends share (hash names, ranges, byte limits).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../../errors.ts';
import { commitFile, statInputFile } from '../../files.ts';
import type { ArtifactStore, ByteRange, LocalCopy, PutOptions, StoredObject } from './artifact-store.ts';

const SHA256_HEX = /^[0-9a-f]{64}$/;
const STAGING = '.staging';

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
  private readonly hash = createHash('sha256');
  private size = 0;

  constructor(private readonly options: PutOptions) {
    if (options.expectedSha256 !== undefined) assertSha256(options.expectedSha256, 'expected SHA-256');
    const { maxBytes } = options;
    if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && maxBytes >= 0)) {
      throw new AppError('VALIDATION', `maxBytes must be a non-negative integer, got ${maxBytes}`);
    }
    options.signal?.throwIfAborted();
  }

  async *measure(source: AsyncIterable<unknown>): AsyncGenerator<Uint8Array> {
    const { maxBytes, onProgress, signal } = this.options;
    for await (const chunk of source) {
      signal?.throwIfAborted();
      // A Readable with an encoding set yields strings, whose length is not a byte count.
      if (!(chunk instanceof Uint8Array)) throw new AppError('VALIDATION', 'an artifact source must yield bytes, not strings or objects');
      this.size += chunk.byteLength;
      // Checked before the bytes go anywhere: an oversized upload is cut off at the limit.
      if (maxBytes !== undefined && this.size > maxBytes) {
        throw new AppError('TOO_LARGE', `the upload exceeds the limit of ${maxBytes} bytes`);
      }
      this.hash.update(chunk);
      onProgress?.(this.size);
      yield chunk;
    }
    signal?.throwIfAborted();
  }

  /** The finished digest; throws INTEGRITY when it is not the one the caller announced. */
  finish(): StoredObject {
    const sha256 = this.hash.digest('hex');
    const expected = this.options.expectedSha256;
    if (expected !== undefined && expected !== sha256) {
      throw new AppError('INTEGRITY', `the uploaded bytes have SHA-256 ${sha256}, not the expected ${expected}`);
    }
    return { sha256, size: this.size };
  }
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

function notFound(sha256: string): AppError {
  return new AppError('NOT_FOUND', `no artifact with SHA-256 ${sha256}`);
}

export class LocalArtifactStore implements ArtifactStore {
  readonly kind = 'local';
  private readonly stagingDir: string;
  private prepared: Promise<void> | undefined;

  constructor(readonly root: string) {
    this.stagingDir = join(root, STAGING);
  }

  async put(source: AsyncIterable<Uint8Array> | Readable, options: PutOptions = {}): Promise<StoredObject> {
    const meter = new UploadMeter(options);
    await this.ready();
    const staged = join(this.stagingDir, randomBytes(16).toString('hex'));
    try {
      await pipeline(source, (chunks: AsyncIterable<unknown>) => meter.measure(chunks), createWriteStream(staged, { flags: 'wx' }), {
        signal: options.signal,
      });
      const object = meter.finish();
      const path = this.objectPath(object.sha256);
      if (await exists(path)) {
        // Same name, same bytes: the object is already there and complete.
        await rm(staged, { force: true });
      } else {
        await mkdir(join(this.root, object.sha256.slice(0, 2)), { recursive: true });
        // Read-only: localCopy hands out this very path, and no tool may write through it.
        await commitFile(staged, path, 0o444);
      }
      return object;
    } catch (err) {
      await rm(staged, { force: true });
      throw err;
    }
  }

  async putFile(path: string, options: Omit<PutOptions, 'maxBytes'> = {}): Promise<StoredObject> {
    await statInputFile(path, 'artifact file');
    return this.put(createReadStream(path, { highWaterMark: 1024 * 1024 }), options);
  }

  async stat(sha256: string): Promise<StoredObject | null> {
    const path = this.objectPath(sha256);
    try {
      return { sha256, size: (await stat(path)).size };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async get(sha256: string, range?: ByteRange): Promise<Readable> {
    const path = this.objectPath(sha256);
    if (range) assertRange(range);
    // Opened here rather than left to the stream, so a missing object is an error of
    // this call and not a late 'error' event after the caller has sent headers.
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      if (isMissing(err)) throw notFound(sha256);
      throw err;
    }
    if (range) {
      try {
        const { size } = await handle.stat();
        if (range.start >= size) throw rangeBeyondEnd(range, size);
      } catch (err) {
        await handle.close();
        throw err;
      }
    }
    return handle.createReadStream({ start: range?.start, end: range?.end, highWaterMark: 1024 * 1024 });
  }

  async localCopy(sha256: string, _tmpDir: string): Promise<LocalCopy> {
    if ((await this.stat(sha256)) === null) throw notFound(sha256);
    return { path: this.objectPath(sha256), release: async () => {} };
  }

  async delete(sha256: string): Promise<void> {
    await rm(this.objectPath(sha256), { force: true });
  }

  async *list(): AsyncIterable<StoredObject> {
    await this.ready();
    for (const dir of await readdir(this.root, { withFileTypes: true })) {
      // Only the two-hex-digit fan-out directories hold objects; `.staging` never does.
      if (!dir.isDirectory() || !/^[0-9a-f]{2}$/.test(dir.name)) continue;
      for (const name of await readdir(join(this.root, dir.name))) {
        if (!SHA256_HEX.test(name) || !name.startsWith(dir.name)) continue;
        const object = await this.stat(name);
        if (object) yield object; // it may have been deleted since readdir
      }
    }
  }

  /**
   * Removes what crashed uploads left in `.staging`. Call at server start, before any
   * upload begins: an upload in progress would lose its staged file.
   */
  async cleanStaging(): Promise<number> {
    await this.ready();
    const leftovers = await readdir(this.stagingDir);
    await Promise.all(leftovers.map((name) => rm(join(this.stagingDir, name), { recursive: true, force: true })));
    return leftovers.length;
  }

  private objectPath(sha256: string): string {
    assertSha256(sha256);
    return join(this.root, sha256.slice(0, 2), sha256);
  }

  private ready(): Promise<void> {
    this.prepared ??= mkdir(this.stagingDir, { recursive: true }).then(
      () => undefined,
      (err: unknown) => {
        this.prepared = undefined; // let a later call retry, e.g. once the disk is mounted
        throw new AppError('IO', `cannot create the artifact directory ${this.root}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      },
    );
    return this.prepared;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}
