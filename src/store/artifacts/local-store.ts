// The embedded artifact store: a content-addressed directory, `<root>/<2 hex>/<sha256>`.
// Uploads land in `<root>/.staging` and are renamed into place only when complete and
// hashed, so a listed object is always whole. An object's mtime is when it was last put.
// Staged names start with the writer's pid, so a server starting beside others on the
// same directory removes only what dead processes left there.
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, constants, type FileHandle, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../../errors.ts';
import { leftByGoneProcess, statInputFile } from '../../files.ts';
import type { ArtifactStore, ByteRange, LocalCopy, ObjectInfo, PutOptions, StoredObject } from './artifact-store.ts';
import { assertRange, assertSha256, rangeBeyondEnd, SHA256_HEX, UploadMeter } from './checks.ts';
import { StagedFileHash } from './file-hasher.ts';
import { StagingWriter } from './staging-writer.ts';

const STAGING = '.staging';

/** A staged upload's digest, and the object already stored under it, if any, held open. */
interface Named {
  sha256: string;
  replaced: FileHandle | undefined;
}

function isReadable(source: AsyncIterable<Uint8Array> | Readable): source is Readable {
  return source instanceof Readable;
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
    // Counted, limited and reported here; hashed from the staged file on a worker thread.
    const meter = new UploadMeter(options, { hashHere: false });
    await this.ready();
    const staged = join(this.stagingDir, `${process.pid}-${randomBytes(16).toString('hex')}`);
    let hash: StagedFileHash | undefined;
    // Asked for as the final sync starts, not after it: the digest, and the object it names
    // opened if it is there already, are ready when the sync is done.
    let named: Promise<Named> | undefined;
    const hooks = {
      onOpen: () => (hash = new StagedFileHash(staged)),
      onWritten: (bytes: number, all?: boolean) => {
        hash?.written(bytes, all);
        if (all && hash) named = this.name(hash, bytes);
      },
    };
    try {
      // A Node stream (an HTTP request, a file) goes straight into the writer, which meters
      // each chunk as it arrives. Any other iterable is metered as it is pulled, so an
      // oversized one stops being read at the limit rather than read ahead into buffers.
      const writer = isReadable(source) ? new StagingWriter(staged, { meter, ...hooks }) : new StagingWriter(staged, hooks);
      if (isReadable(source)) await pipeline(source, writer, { signal: options.signal });
      else await pipeline(source, (chunks: AsyncIterable<unknown>) => meter.measure(chunks), writer, { signal: options.signal });
      options.signal?.throwIfAborted();
      if (!hash) throw new Error('the staging writer finished without opening its file');
      const object = meter.finish((await (named ??= this.name(hash, writer.bytes))).sha256);
      await publish(staged, this.objectPath(object.sha256));
      return object;
    } catch (err) {
      hash?.discard();
      await rm(staged, { force: true });
      throw err;
    } finally {
      // Not awaited: the replaced object's blocks are freed on libuv's pool while the
      // caller records the upload and answers.
      void named?.then(({ replaced }) => replaced?.close()).catch(() => undefined);
    }
  }

  /**
   * The staged file's digest and, when an object of that name is stored already, that
   * object held open. Renaming over it then only unlinks it: its blocks are freed when the
   * handle closes, after the rename. Without the handle the rename freed them itself, and
   * the answer waited: 44-127 ms for 200 MB on ext4, 4-14 ms for 10 MB (the same image
   * uploaded again, as a new version or model, replaces its object).
   */
  private name(hash: StagedFileHash, bytes: number): Promise<Named> {
    const named = hash.digest(bytes).then(async (sha256) => ({
      sha256,
      // Any failure (none there, or not ours to read) only means there is nothing to hold.
      replaced: await open(this.objectPath(sha256), 'r').catch(() => undefined),
    }));
    // Awaited by put() unless its pipeline failed; that failure is the one reported.
    void named.catch(() => undefined);
    return named;
  }

  async putFile(path: string, options: Omit<PutOptions, 'maxBytes'> = {}): Promise<StoredObject> {
    await statInputFile(path, 'artifact file');
    return this.put(createReadStream(path, { highWaterMark: 1024 * 1024 }), options);
  }

  async stat(sha256: string): Promise<ObjectInfo | null> {
    const path = this.objectPath(sha256);
    try {
      const info = await stat(path);
      return { sha256, size: info.size, modifiedAt: Math.floor(info.mtimeMs) };
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
    const info = await this.stat(sha256);
    if (info === null) throw notFound(sha256);
    return { path: this.objectPath(sha256), modifiedAt: info.modifiedAt, release: async () => {} };
  }

  async delete(sha256: string): Promise<void> {
    await rm(this.objectPath(sha256), { force: true });
  }

  async *list(): AsyncIterable<ObjectInfo> {
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

  async ping(): Promise<void> {
    await this.ready();
    // Checked every time: the directory made once may be gone (an unmounted disk) or read-only since.
    try {
      await access(this.stagingDir, constants.R_OK | constants.W_OK | constants.X_OK);
    } catch (err) {
      throw new AppError('IO', `the artifact directory ${this.root} is not usable: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
    }
  }

  /**
   * Removes what crashed uploads left in `.staging`: files of processes that no longer run.
   * Another server's uploads in progress stay. Call at server start, before this process
   * stages anything: files under its own pid count as an earlier process's.
   */
  async cleanStaging(): Promise<number> {
    await this.ready();
    const leftovers = (await readdir(this.stagingDir)).filter(leftByGoneProcess);
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

/**
 * Puts the staged file (whole, synced, read-only) in place under its name, in as few
 * waits on the disk as can be: one rename, where checking for the object, making its
 * directory and renaming took four (each a round trip through libuv's pool, a few
 * milliseconds apiece on a busy machine, against an upload of tens).
 * Renamed over an object already there: the name says the bytes are the same, and the
 * object is now stored anew, its modified time now (garbage collection spares only
 * objects younger than its grace period, and the caller is about to record this one).
 * Readers that have it open keep reading the file they opened.
 */
async function publish(staged: string, path: string): Promise<void> {
  try {
    await rename(staged, path);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') return keepTheirs(staged, path, err);
    if (!isMissing(err)) throw err;
  }
  // The first object of its directory; also when a garbage collection removed the
  // directory meanwhile.
  await mkdir(dirname(path), { recursive: true });
  await rename(staged, path);
}

/**
 * Someone else's directory (another user ran the server once) that we may not write in:
 * the object may be there, whole and read-only to us, and then it is stored; its time stays
 * as it was, as we cannot change it.
 */
async function keepTheirs(staged: string, path: string, cause: unknown): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch {
    throw cause;
  }
  await rm(staged, { force: true });
}
