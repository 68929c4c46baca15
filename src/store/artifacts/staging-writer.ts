// Writes an upload into its staging file. Each chunk is counted and limited by the meter
// the moment it arrives (synchronously: no promise or async generator step per 64 KiB
// socket chunk), then gathered, without copying, into writes of about 1 MiB: one
// positional writev each, at most two in flight, so receiving the next block overlaps
// writing this one. As the file's written part grows, onWritten says so (the local store
// hashes it behind the writer, file-hasher.ts). Once every write is done the file is
// synced, made read-only and closed here, on the handle already open, so its bytes are on
// disk before the caller names it; the hashing thread finishes the last blocks meanwhile.
import { type FileHandle, open } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { AppError } from '../../errors.ts';
import type { UploadMeter } from './checks.ts';

/** Bytes gathered per write: large writes cost fewer syscalls and less per byte. */
export const STAGING_WRITE_BYTES = 1024 * 1024;
/** Writes under way at once; past this the writer stops taking chunks (backpressure). */
const WRITES_IN_FLIGHT = 2;
/**
 * Written bytes past the last flush that start another (fdatasync, on libuv's pool, while
 * the upload goes on), so the disk works as the bytes arrive. The fsync at the end, which
 * the answer waits for, then has only the tail to write: on 200 MB it took 70-125 ms with
 * all of it left for the end.
 */
export const EARLY_SYNC_BYTES = 8 * 1024 * 1024;

export class StagingWriter extends Writable {
  private handle: FileHandle | undefined;
  private gathered: Uint8Array[] = [];
  private gatheredBytes = 0;
  /** Where the next write goes: writes in flight may complete in any order. */
  private position = 0;
  private inFlight = 0;
  private failure: Error | undefined;
  /** A write's callback held back until a write in flight completes (backpressure). */
  private heldWrite: ((err?: Error | null) => void) | undefined;
  /** The final callback, held until every write has completed. */
  private heldFinal: ((err?: Error | null) => void) | undefined;
  /** The flush under way, if any, and where the written part ended when it began. */
  private syncing: Promise<void> | undefined;
  private syncedTo = 0;
  /** Writes in file order, each with its end and whether it has completed. */
  private readonly pending: Array<{ end: number; done: boolean }> = [];

  constructor(
    private readonly path: string,
    private readonly hooks: {
      /** Meters each chunk; absent when the source was metered before it got here. */
      meter?: UploadMeter;
      /** The file exists (it is created here). */
      onOpen?: () => void;
      /**
       * The file's first `bytes` bytes are written (writes may complete out of order);
       * `all` once every write has completed, as the final sync starts.
       */
      onWritten?: (bytes: number, all?: boolean) => void;
    } = {},
  ) {
    super({ highWaterMark: STAGING_WRITE_BYTES });
  }

  /** Bytes taken so far, all written once the writer has finished. */
  get bytes(): number {
    return this.position + this.gatheredBytes;
  }

  override _construct(callback: (err?: Error | null) => void): void {
    open(this.path, 'wx').then(
      (handle) => {
        this.handle = handle;
        try {
          this.hooks.onOpen?.();
        } catch (err) {
          return callback(err as Error);
        }
        callback();
      },
      (err: Error) => callback(err),
    );
  }

  override _write(chunk: unknown, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.failure) return callback(this.failure);
    let bytes: Uint8Array;
    try {
      bytes = this.hooks.meter ? this.hooks.meter.take(chunk) : (chunk as Uint8Array);
    } catch (err) {
      return callback(err as Error);
    }
    this.gathered.push(bytes);
    this.gatheredBytes += bytes.byteLength;
    if (this.gatheredBytes >= STAGING_WRITE_BYTES) this.writeGathered();
    if (this.inFlight < WRITES_IN_FLIGHT) callback();
    else this.heldWrite = callback;
  }

  override _final(callback: (err?: Error | null) => void): void {
    if (this.gatheredBytes > 0) this.writeGathered();
    const finish = async (err?: Error | null) => {
      err ??= this.failure;
      const handle = this.handle;
      if (err || !handle) {
        // A flush's failure is reported to one flush only: waited for, so none is missed.
        await this.syncing;
        return callback(err ?? this.failure);
      }
      // Every write is done: synced and closed here so the file is whole, and on disk,
      // before anyone renames it. _destroy closes the handle if the sync fails. Made
      // read-only at the same time (localCopy hands out the published path, and no tool
      // may write through it): one wait for both, not a chmod by path after.
      try {
        this.hooks.onWritten?.(this.position, true);
      } catch (hookErr) {
        await this.syncing;
        return callback(hookErr as Error);
      }
      // The final sync starts beside a flush still under way, not after it: one wait on the
      // disk at the end rather than two (a 10 MB upload's early flush often is). The flush
      // is still waited for, and its failure reported: a write error reaches one of the two
      // syncs only, whichever asks first.
      Promise.all([handle.chmod(0o444), handle.sync(), this.syncing]).then(
        () => {
          if (this.failure) throw this.failure;
          this.handle = undefined;
          return handle.close();
        },
      ).then(
        () => callback(),
        (syncErr: Error) => callback(syncErr instanceof AppError ? syncErr : new AppError('IO', `cannot write the upload to ${this.path}: ${syncErr.message}`, { cause: syncErr })),
      );
    };
    if (this.failure) void finish(this.failure);
    else if (this.inFlight === 0) void finish();
    else this.heldFinal = finish;
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    // FileHandle.close waits for the writes in flight, so none can land on a reused fd.
    const handle = this.handle;
    this.handle = undefined;
    if (!handle) return callback(err);
    handle.close().then(
      () => callback(err),
      () => callback(err),
    );
  }

  private writeGathered(): void {
    const chunks = this.gathered;
    const bytes = this.gatheredBytes;
    const at = this.position;
    this.gathered = [];
    this.gatheredBytes = 0;
    this.position += bytes;
    this.inFlight += 1;
    const write = { end: this.position, done: false };
    this.pending.push(write);
    writeAll(this.handle as FileHandle, chunks, bytes, at).then(
      () => this.settled(undefined, write),
      (err: Error) => this.settled(err, write),
    );
  }

  private flush(upTo: number): void {
    const handle = this.handle;
    if (!handle) return;
    this.syncedTo = upTo;
    this.syncing = handle.datasync().then(
      () => {
        this.syncing = undefined;
      },
      (err: Error) => {
        this.syncing = undefined;
        this.failure ??= new AppError('IO', `cannot write the upload to ${this.path}: ${err.message}`, { cause: err });
      },
    );
  }

  private settled(err: Error | undefined, completed: { end: number; done: boolean }): void {
    this.inFlight -= 1;
    completed.done = !err;
    let written: number | undefined;
    while (this.pending[0]?.done) written = this.pending.shift()?.end;
    if (written !== undefined && !this.failure) {
      this.hooks.onWritten?.(written);
      if (written - this.syncedTo >= EARLY_SYNC_BYTES && !this.syncing) this.flush(written);
    }
    if (err && !this.failure) this.failure = new AppError('IO', `cannot write the upload to ${this.path}: ${err.message}`, { cause: err });
    const write = this.heldWrite;
    if (write && (this.failure || this.inFlight < WRITES_IN_FLIGHT)) {
      this.heldWrite = undefined;
      write(this.failure);
    }
    const final = this.heldFinal;
    if (final && (this.failure || this.inFlight === 0)) {
      this.heldFinal = undefined;
      final(this.failure);
    }
  }
}

/** One writev; a short write (a full disk, say) is finished, or fails, with plain writes. */
async function writeAll(handle: FileHandle, chunks: Uint8Array[], bytes: number, position: number): Promise<void> {
  const { bytesWritten } = await handle.writev(chunks, position);
  if (bytesWritten === bytes) return;
  const rest = Buffer.concat(chunks).subarray(bytesWritten);
  let done = 0;
  while (done < rest.length) {
    const { bytesWritten: more } = await handle.write(rest, done, rest.length - done, position + bytesWritten + done);
    if (more === 0) throw new Error('the disk took no more bytes');
    done += more;
  }
}
