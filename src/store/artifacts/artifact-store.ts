// The artifact store: content-addressed blobs (build images, package payloads, .fota
// files) named by their SHA-256. Two backends pass one test suite: a local directory
// (the embedded default) and MinIO/S3. An object is listed and readable only once it is
// complete: writers stage bytes under a temporary name and publish them in one step.
import type { Readable } from 'node:stream';

export interface StoredObject {
  sha256: string;
  size: number;
}

/** A stored object as `stat` and `list` see it. */
export interface ObjectInfo extends StoredObject {
  /**
   * When the object was last stored, in ms since the epoch (S3: whole seconds). A put of
   * bytes that are already there stores them again, so this also covers an object an
   * upload has just handed to a caller that has not recorded it yet: garbage collection
   * takes only objects older than a grace period.
   */
  modifiedAt: number;
}

export interface PutOptions {
  /** Refuse (AppError TOO_LARGE) once more than this many bytes have arrived. */
  maxBytes?: number;
  /** Called as bytes arrive, with the running total. */
  onProgress?: (bytes: number) => void;
  /** When known in advance, a mismatch fails the put (AppError INTEGRITY) and stores nothing. */
  expectedSha256?: string;
  signal?: AbortSignal;
}

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive (as in HTTP Range). */
  end: number;
}

export interface LocalCopy {
  path: string;
  /** When the object itself was last written (the local directory's own file), in ms. */
  modifiedAt?: number;
  /** Removes the copy if the backend made one; a no-op for the local directory. */
  release(): Promise<void>;
}

export interface ArtifactStore {
  readonly kind: 'local' | 's3';
  /**
   * Streams bytes in while hashing them; never holds the whole object in memory. When
   * the object exists already, its modified time is refreshed.
   */
  put(source: AsyncIterable<Uint8Array> | Readable, options?: PutOptions): Promise<StoredObject>;
  putFile(path: string, options?: Omit<PutOptions, 'maxBytes'>): Promise<StoredObject>;
  /** null when there is no complete object under that hash. */
  stat(sha256: string): Promise<ObjectInfo | null>;
  /** The object's bytes, or one inclusive range of them. Throws AppError NOT_FOUND. */
  get(sha256: string, range?: ByteRange): Promise<Readable>;
  /** A file path for tools that need one (bsdiff): the object itself or a temporary copy. */
  localCopy(sha256: string, tmpDir: string): Promise<LocalCopy>;
  delete(sha256: string): Promise<void>;
  /** Every complete object; staged (incomplete) uploads are never listed. */
  list(): AsyncIterable<ObjectInfo>;
  /**
   * Resolves when the store can be used: the directory is there and writable, or the
   * bucket answers (a first ping makes it, as a first upload would). Throws otherwise. It
   * brings no timeout of its own: /healthz puts one around it.
   */
  ping(): Promise<void>;
  /** Removes what crashed uploads left staged (local directory only); returns how many. */
  cleanStaging?(): Promise<number>;
  /** A time-limited URL the object store serves itself (S3 only). */
  presignedUrl?(sha256: string, expiresSeconds: number): Promise<string>;
}
