// The scale-out artifact store: one S3 bucket (MinIO, AWS S3, ...) through the `minio`
// client, objects under `objects/<sha256>`. Uploads go to `staging/<random>` first and are
// copied to their final key only when complete and hashed, so several server processes
// sharing the bucket never see, list or serve a partial object. An object's LastModified
// is when it was last put.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type BucketItem, Client, CopyDestinationOptions, CopySourceOptions } from 'minio';
import { AppError } from '../../errors.ts';
import { statInputFile } from '../../files.ts';
import type { ArtifactStore, ByteRange, LocalCopy, ObjectInfo, PutOptions, StoredObject } from './artifact-store.ts';
import { assertRange, assertSha256, rangeBeyondEnd, UploadMeter } from './checks.ts';

export interface S3StoreOptions {
  endPoint: string;
  port?: number;
  useSSL?: boolean;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region?: string;
  /**
   * Bytes held in memory per upload: the source is sent in parts of this size. S3 wants
   * at least 5 MiB for every part but the last.
   */
  partSize?: number;
}

const MIN_PART_SIZE = 5 * 1024 * 1024;
const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
const OBJECTS = 'objects/';
const OBJECT_KEY = /^objects\/[0-9a-f]{64}$/;
const CONTENT_TYPE = { 'Content-Type': 'application/octet-stream' };

function s3Code(err: unknown): string | undefined {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

function isMissing(err: unknown): boolean {
  const code = s3Code(err);
  return code === 'NoSuchKey' || code === 'NotFound';
}

export class S3ArtifactStore implements ArtifactStore {
  readonly kind = 's3';
  readonly bucket: string;
  private readonly client: Client;
  private readonly region: string | undefined;
  private readonly partSize: number;
  private readonly endpointLabel: string;
  private bucketReady: Promise<void> | undefined;

  constructor(options: S3StoreOptions) {
    const partSize = options.partSize ?? DEFAULT_PART_SIZE;
    if (!Number.isSafeInteger(partSize) || partSize < MIN_PART_SIZE) {
      throw new AppError('VALIDATION', `S3 part size must be at least ${MIN_PART_SIZE} bytes, got ${partSize}`);
    }
    this.bucket = options.bucket;
    this.region = options.region;
    this.partSize = partSize;
    this.endpointLabel = `${options.useSSL === false ? 'http' : 'https'}://${options.endPoint}${options.port === undefined ? '' : `:${options.port}`}`;
    this.client = new Client({
      endPoint: options.endPoint,
      port: options.port,
      useSSL: options.useSSL,
      accessKey: options.accessKey,
      secretKey: options.secretKey,
      region: options.region,
    });
  }

  /** Builds a store from an endpoint URL such as `http://127.0.0.1:9000` (FOTA_S3_ENDPOINT). */
  static fromUrl(endpoint: string, options: Omit<S3StoreOptions, 'endPoint' | 'port' | 'useSSL'>): S3ArtifactStore {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new AppError('VALIDATION', `S3 endpoint ${JSON.stringify(endpoint)} is not a URL like http://127.0.0.1:9000`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new AppError('VALIDATION', `S3 endpoint ${endpoint} must start with http:// or https://`);
    }
    // The minio client addresses buckets at the root of the host; a path would be ignored.
    if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
      throw new AppError('VALIDATION', `S3 endpoint ${endpoint} must be a bare origin like http://127.0.0.1:9000, without a path`);
    }
    if (url.username !== '' || url.password !== '') {
      throw new AppError('VALIDATION', 'S3 endpoint must not carry credentials; give the access and secret key separately');
    }
    return new S3ArtifactStore({
      ...options,
      // URL.hostname keeps the brackets of an IPv6 literal, which the client refuses.
      endPoint: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port === '' ? undefined : Number(url.port),
      useSSL: url.protocol === 'https:',
    });
  }

  async put(source: AsyncIterable<Uint8Array> | Readable, options: PutOptions = {}): Promise<StoredObject> {
    const meter = new UploadMeter(options);
    await this.ready();
    const stagingKey = `staging/${randomBytes(16).toString('hex')}`;
    let finished: StoredObject | undefined;
    const finish = () => (finished ??= meter.finish());
    try {
      // One part or less goes straight to its final key: its hash is known before the PUT.
      const direct = await this.upload(stagingKey, meter.measure(source), () => objectKey(finish().sha256));
      const object = finish();
      if (direct) return object;
      // A server-side copy: the bytes do not travel through this process again.
      // (Single-request CopyObject stops at 5 GiB on AWS S3; firmware is far smaller.)
      // Copied even when the object exists: the same bytes, with a fresh LastModified
      // that keeps garbage collection off it until the caller has recorded it.
      await this.client.copyObject(
        new CopySourceOptions({ Bucket: this.bucket, Object: stagingKey }),
        new CopyDestinationOptions({ Bucket: this.bucket, Object: objectKey(object.sha256) }),
      );
      await this.client.removeObject(this.bucket, stagingKey);
      return object;
    } catch (err) {
      await this.client.removeObject(this.bucket, stagingKey).catch(() => {});
      throw err;
    }
  }

  async putFile(path: string, options: Omit<PutOptions, 'maxBytes'> = {}): Promise<StoredObject> {
    await statInputFile(path, 'artifact file');
    return this.put(createReadStream(path, { highWaterMark: 1024 * 1024 }), options);
  }

  async stat(sha256: string): Promise<ObjectInfo | null> {
    const key = objectKey(sha256);
    await this.ready();
    const found = await this.statKey(key);
    return found === null ? null : { sha256, ...found };
  }

  async get(sha256: string, range?: ByteRange): Promise<Readable> {
    const key = objectKey(sha256);
    if (range) assertRange(range);
    await this.ready();
    try {
      if (!range) return await this.client.getObject(this.bucket, key);
      const length = range.end - range.start + 1;
      return Readable.from(take(await this.client.getPartialObject(this.bucket, key, range.start, length), length), {
        objectMode: false,
      });
    } catch (err) {
      if (isMissing(err)) throw this.notFound(sha256);
      if (range && s3Code(err) === 'InvalidRange') {
        const found = await this.statKey(key);
        if (found === null) throw this.notFound(sha256);
        throw rangeBeyondEnd(range, found.size);
      }
      throw err;
    }
  }

  async localCopy(sha256: string, tmpDir: string): Promise<LocalCopy> {
    const source = await this.get(sha256);
    await mkdir(tmpDir, { recursive: true });
    const path = join(tmpDir, `${sha256}.${randomBytes(6).toString('hex')}`);
    const release = () => rm(path, { force: true });
    const hash = createHash('sha256');
    try {
      await pipeline(
        source,
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            hash.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(path, { flags: 'wx' }),
      );
      // Cheap while the bytes pass anyway, and a tool like bsdiff must never work on a
      // copy that a flaky connection or a damaged bucket has altered.
      const actual = hash.digest('hex');
      if (actual !== sha256) {
        throw new AppError('INTEGRITY', `object ${sha256} in bucket ${this.bucket} has SHA-256 ${actual}; it is damaged`);
      }
    } catch (err) {
      await release();
      throw err;
    }
    return { path, release };
  }

  async delete(sha256: string): Promise<void> {
    const key = objectKey(sha256);
    await this.ready();
    await this.client.removeObject(this.bucket, key);
  }

  async *list(): AsyncIterable<ObjectInfo> {
    await this.ready();
    // The client types the stream's items only for its 'data' event.
    const items = this.client.listObjectsV2(this.bucket, OBJECTS, true) as AsyncIterable<BucketItem>;
    for await (const item of items) {
      if (item.name === undefined || !OBJECT_KEY.test(item.name)) continue;
      // No date would read as "stored long ago" to garbage collection; skip rather than guess.
      if (item.lastModified === undefined) continue;
      yield { sha256: item.name.slice(OBJECTS.length), size: item.size, modifiedAt: item.lastModified.getTime() };
    }
  }

  async ping(): Promise<void> {
    // The first call makes the bucket, as a first upload would; after that, one HEAD per
    // ping, so a bucket removed or an endpoint gone since is seen.
    await this.ready();
    let exists: boolean;
    try {
      exists = await this.client.bucketExists(this.bucket);
    } catch (err) {
      throw new AppError('IO', `cannot reach S3 bucket ${this.bucket} at ${this.endpointLabel}: ${s3Code(err) ?? (err instanceof Error ? err.message : String(err))}`, { cause: err });
    }
    if (!exists) throw new AppError('IO', `S3 bucket ${this.bucket} at ${this.endpointLabel} is gone`);
  }

  async presignedUrl(sha256: string, expiresSeconds: number): Promise<string> {
    const key = objectKey(sha256);
    // S3 signatures (version 4) are valid for at most 7 days.
    if (!Number.isSafeInteger(expiresSeconds) || expiresSeconds < 1 || expiresSeconds > 7 * 24 * 3600) {
      throw new AppError('VALIDATION', `a presigned URL must expire in 1 s to 7 days, got ${expiresSeconds} s`);
    }
    await this.ready();
    return this.client.presignedGetObject(this.bucket, key, expiresSeconds);
  }

  /**
   * Sends the bytes in parts of `partSize`, so memory stays at one part whatever the
   * object's size. The minio client's own putObject cannot be used for a stream of
   * unknown length: it reads up to 64 MiB (or, lacking a size, parts of ~550 MiB) into
   * memory and first lists pending multipart uploads, a call s3rver does not implement.
   * An object of one part or less goes up in a single PUT straight to `directKey()` (the
   * whole object is in hand, so its name is known; S3 shows a PUT object only once whole)
   * and the result is true; a larger one goes to `key` (staging) and the result is false.
   */
  private async upload(key: string, chunks: AsyncIterable<Uint8Array>, directKey: () => string): Promise<boolean> {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let uploadId: string | undefined;
    const etags: { part: number; etag: string }[] = [];
    const sendPart = async (part: Buffer) => {
      uploadId ??= await this.client.initiateNewMultipartUpload(this.bucket, key, { ...CONTENT_TYPE });
      const partNumber = etags.length + 1;
      const { etag } = await this.client.uploadPart(
        {
          bucketName: this.bucket,
          objectName: key,
          uploadID: uploadId,
          partNumber,
          headers: { 'Content-MD5': createHash('md5').update(part).digest('base64') },
        },
        part,
      );
      etags.push({ part: partNumber, etag });
    };
    try {
      for await (const chunk of chunks) {
        // Copied: an async iterable may reuse its buffer once we ask for the next chunk.
        pending.push(Buffer.from(chunk));
        pendingBytes += chunk.byteLength;
        while (pendingBytes >= this.partSize) {
          const all = Buffer.concat(pending, pendingBytes);
          const rest = Buffer.from(all.subarray(this.partSize));
          pending = rest.length > 0 ? [rest] : [];
          pendingBytes = rest.length;
          await sendPart(all.subarray(0, this.partSize));
        }
      }
      const last = Buffer.concat(pending, pendingBytes);
      if (uploadId === undefined) {
        // Put even when the object exists, for a fresh LastModified (see the copy in put).
        await this.client.putObject(this.bucket, directKey(), last, last.length, { ...CONTENT_TYPE });
        return true;
      }
      if (last.length > 0) await sendPart(last);
      await this.client.completeMultipartUpload(this.bucket, key, uploadId, etags);
      return false;
    } catch (err) {
      if (uploadId !== undefined) {
        // Best effort (s3rver, for one, has no abort). An unfinished multipart upload is
        // never listed; a bucket lifecycle rule reclaims its parts.
        await this.client.abortMultipartUpload(this.bucket, key, uploadId).catch(() => {});
      }
      throw err;
    }
  }

  /** The object's size and modified time, or null when there is none. */
  private async statKey(key: string): Promise<{ size: number; modifiedAt: number } | null> {
    try {
      const found = await this.client.statObject(this.bucket, key);
      return { size: found.size, modifiedAt: found.lastModified.getTime() };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  private notFound(sha256: string): AppError {
    return new AppError('NOT_FOUND', `no artifact with SHA-256 ${sha256} in bucket ${this.bucket}`);
  }

  /** Makes sure the bucket exists, once per store; a failure is retried on the next call. */
  private ready(): Promise<void> {
    this.bucketReady ??= this.ensureBucket().catch((err: unknown) => {
      this.bucketReady = undefined;
      if (err instanceof AppError) throw err;
      throw new AppError('IO', `cannot use S3 bucket ${this.bucket} at ${this.endpointLabel}: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    });
    return this.bucketReady;
  }

  private async ensureBucket(): Promise<void> {
    if (await this.client.bucketExists(this.bucket)) return;
    try {
      await this.client.makeBucket(this.bucket, this.region);
    } catch (err) {
      // Another server process may have created it since we looked.
      if (await this.client.bucketExists(this.bucket)) return;
      throw err;
    }
  }
}

/**
 * At most `length` bytes of `source`. A server may send more than the range asked for
 * (s3rver 3.7.1 answers `bytes=0-0` with the whole object: it reads an end of 0 as
 * "none"), and a download must never get a byte past the end it asked for.
 */
async function* take(source: Readable, length: number): AsyncGenerator<Buffer> {
  let left = length;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    if (chunk.length >= left) {
      yield chunk.subarray(0, left);
      return; // ends the loop, which destroys the response instead of reading the rest
    }
    left -= chunk.length;
    yield chunk;
  }
}

function objectKey(sha256: string): string {
  assertSha256(sha256);
  return `${OBJECTS}${sha256}`;
}
