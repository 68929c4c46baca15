// One suite, both artifact-store backends: a local directory and S3 through the minio
// client against a real s3rver on loopback. Whatever one backend promises, the other keeps.
import { spawn } from 'node:child_process';
import { readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type BucketItem, Client } from 'minio';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import type { ArtifactStore, ObjectInfo, StoredObject } from '../../src/store/artifacts/artifact-store.ts';
import { createArtifactStore } from '../../src/store/artifacts/index.ts';
import { LocalArtifactStore } from '../../src/store/artifacts/local-store.ts';
import { S3ArtifactStore } from '../../src/store/artifacts/s3-store.ts';
import { backdate, HOUR, type StoreOnDisk } from '../support/artifacts.ts';
import { pseudoRandom, sha256, tempDir } from '../support/harness.ts';
import { closedPort } from '../support/ports.ts';
import { S3_KEYS, useS3rver } from '../support/s3rver.ts';

/** Larger than one S3 part. */
const IMAGE = pseudoRandom(6_000_000, 'artifact-store');

/** The smallest part S3 allows, so a few MB already take the multipart path. */
const PART_SIZE = 5 * 1024 * 1024;
const s3 = useS3rver();
let buckets = 0;

interface OpenStore {
  store: ArtifactStore;
  /** Whatever sits in the backend's staging area: leftovers of failed uploads. */
  staged(): Promise<string[]>;
  onDisk: StoreOnDisk;
}

interface Backend {
  kind: 'local' | 's3';
  /** A fresh, empty store: a new directory, or a new bucket the store must create. */
  open(): OpenStore;
}

function testClient(): Client {
  return new Client({ endPoint: '127.0.0.1', port: s3.port(), useSSL: false, ...S3_KEYS });
}

async function keys(client: Client, bucket: string, prefix: string): Promise<string[]> {
  const names: string[] = [];
  for await (const item of client.listObjectsV2(bucket, prefix, true) as AsyncIterable<BucketItem>) {
    if (item.name !== undefined) names.push(item.name);
  }
  return names;
}

function openLocal(): OpenStore & { store: LocalArtifactStore; root: string } {
  const root = join(tempDir(), 'artifacts'); // not there yet: the store creates it
  return { store: new LocalArtifactStore(root), root, staged: () => readdir(join(root, '.staging')).catch(() => []), onDisk: { kind: 'local', root } };
}

function openS3(): OpenStore & { store: S3ArtifactStore; bucket: string } {
  buckets += 1;
  const bucket = `fota-test-${buckets}`;
  const store = S3ArtifactStore.fromUrl(`http://127.0.0.1:${s3.port()}`, { bucket, ...S3_KEYS, partSize: PART_SIZE });
  return { store, bucket, staged: () => keys(testClient(), bucket, 'staging/'), onDisk: { kind: 's3', directory: s3.directory(), bucket } };
}

const backends: Backend[] = [
  { kind: 'local', open: openLocal },
  { kind: 's3', open: openS3 },
];

function chunked(bytes: Buffer, size = 64 * 1024): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return Readable.from(chunks);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** What put returned for each listed object (the times have a test of their own). */
async function listAll(store: ArtifactStore): Promise<StoredObject[]> {
  const objects: StoredObject[] = [];
  for await (const { sha256: hash, size } of store.list()) objects.push({ sha256: hash, size });
  return objects.sort((a, b) => a.sha256.localeCompare(b.sha256));
}

async function list(store: ArtifactStore): Promise<ObjectInfo[]> {
  const objects: ObjectInfo[] = [];
  for await (const object of store.list()) objects.push(object);
  return objects;
}

async function expectNothingKept({ store, staged }: OpenStore): Promise<void> {
  expect(await listAll(store)).toEqual([]);
  expect(await staged()).toEqual([]);
}

describe.each(backends)('$kind artifact store', (backend) => {
  it('round-trips a few MB: put returns hash and size, stat and get agree', async () => {
    const { store } = backend.open();
    const progress: number[] = [];
    const object = await store.put(chunked(IMAGE), { onProgress: (bytes) => progress.push(bytes) });
    expect(object).toEqual({ sha256: sha256(IMAGE), size: IMAGE.length });
    expect(progress.at(-1)).toBe(IMAGE.length);
    expect(await store.stat(object.sha256)).toEqual({ ...object, modifiedAt: expect.any(Number) });
    expect((await readAll(await store.get(object.sha256))).equals(IMAGE)).toBe(true);
    expect(await listAll(store)).toEqual([object]);
  });

  it('stores the same content once, whether put as a stream or a file', async () => {
    const { store } = backend.open();
    const bytes = pseudoRandom(100_000, 'twice');
    const file = join(tempDir(), 'image.bin');
    await writeFile(file, bytes);
    const first = await store.put(chunked(bytes));
    const second = await store.putFile(file, { expectedSha256: sha256(bytes) });
    expect(second).toEqual(first);
    expect(await listAll(store)).toEqual([first]);
  });

  it('stores an empty object', async () => {
    const { store } = backend.open();
    const object = await store.put(Readable.from([]));
    expect(object).toEqual({ sha256: sha256(Buffer.alloc(0)), size: 0 });
    expect((await readAll(await store.get(object.sha256))).length).toBe(0);
  });

  it('serves inclusive ranges: the first byte, a middle stretch, the last byte', async () => {
    const { store } = backend.open();
    const bytes = pseudoRandom(1000, 'ranges');
    const { sha256: hash } = await store.put(chunked(bytes, 100));
    for (const [start, end] of [
      [0, 0],
      [400, 599],
      [999, 999],
    ] as const) {
      const got = await readAll(await store.get(hash, { start, end }));
      expect(got.equals(bytes.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
    }
  });

  it('clips a range that runs past the end and refuses one that starts past it', async () => {
    const { store } = backend.open();
    const bytes = pseudoRandom(1000, 'ranges');
    const { sha256: hash } = await store.put(chunked(bytes));
    expect((await readAll(await store.get(hash, { start: 990, end: 5000 }))).equals(bytes.subarray(990))).toBe(true);
    await expect(store.get(hash, { start: 1000, end: 1000 })).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(store.get(hash, { start: 5, end: 4 })).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(store.get(hash, { start: -1, end: 4 })).rejects.toMatchObject({ code: 'VALIDATION' });
  });

  it('refuses an upload over maxBytes with TOO_LARGE, stops reading and keeps nothing', async () => {
    const opened = backend.open();
    let pulled = 0;
    async function* source(): AsyncGenerator<Uint8Array> {
      for await (const chunk of chunked(IMAGE) as AsyncIterable<Buffer>) {
        pulled += chunk.length;
        yield chunk;
      }
    }
    // Past the first S3 part, so the multipart upload has begun when the limit hits.
    await expect(opened.store.put(source(), { maxBytes: 5_500_000 })).rejects.toMatchObject({ code: 'TOO_LARGE' });
    expect(pulled).toBeLessThan(IMAGE.length);
    await expectNothingKept(opened);
  });

  it('accepts an upload of exactly maxBytes', async () => {
    const { store } = backend.open();
    const bytes = pseudoRandom(1000, 'exact');
    await expect(store.put(chunked(bytes, 100), { maxBytes: 1000 })).resolves.toMatchObject({ size: 1000 });
  });

  it('refuses bytes that do not match expectedSha256 with INTEGRITY and keeps nothing', async () => {
    const opened = backend.open();
    const bytes = pseudoRandom(200_000, 'integrity');
    const put = opened.store.put(chunked(bytes), { expectedSha256: sha256(Buffer.from('something else')) });
    await expect(put).rejects.toMatchObject({ code: 'INTEGRITY' });
    expect(await opened.store.stat(sha256(bytes))).toBeNull();
    await expectNothingKept(opened);
  });

  it('keeps nothing when the source fails halfway', async () => {
    const opened = backend.open();
    async function* source(): AsyncGenerator<Uint8Array> {
      yield* chunked(IMAGE.subarray(0, 5_500_000)) as AsyncIterable<Buffer>;
      throw new Error('connection reset by peer');
    }
    await expect(opened.store.put(source())).rejects.toThrow('connection reset by peer');
    await expectNothingKept(opened);
  });

  it('keeps nothing when the upload is aborted', async () => {
    const opened = backend.open();
    const controller = new AbortController();
    async function* source(): AsyncGenerator<Uint8Array> {
      yield IMAGE.subarray(0, 1000);
      controller.abort();
      yield IMAGE.subarray(1000, 2000);
    }
    await expect(opened.store.put(source(), { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    await expectNothingKept(opened);
  });

  it('reports a missing object: stat null, get and localCopy NOT_FOUND, delete harmless', async () => {
    const { store } = backend.open();
    const missing = sha256(Buffer.from('never stored'));
    expect(await store.stat(missing)).toBeNull();
    await expect(store.get(missing)).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining(missing) });
    await expect(store.get(missing, { start: 0, end: 0 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.localCopy(missing, tempDir())).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.delete(missing)).resolves.toBeUndefined();
  });

  it.each([
    '../../etc/passwd',
    `../${'a'.repeat(61)}`,
    'A'.repeat(64),
    'a'.repeat(63),
    `${'a'.repeat(64)}/..`,
    '',
  ])('refuses the hostile name %j with VALIDATION', async (name) => {
    const { store } = backend.open();
    const refused = { code: 'VALIDATION' };
    await expect(store.stat(name)).rejects.toMatchObject(refused);
    await expect(store.get(name)).rejects.toMatchObject(refused);
    await expect(store.get(name, { start: 0, end: 0 })).rejects.toMatchObject(refused);
    await expect(store.localCopy(name, tempDir())).rejects.toMatchObject(refused);
    await expect(store.delete(name)).rejects.toMatchObject(refused);
    await expect(store.put(Readable.from([Buffer.from('x')]), { expectedSha256: name })).rejects.toMatchObject(refused);
  });

  it('lists only complete objects while an upload is in progress', async () => {
    const { store, staged } = backend.open();
    const done = await store.put(chunked(pseudoRandom(1000, 'done')));
    let resume = () => {};
    const gate = new Promise<void>((resolve) => {
      resume = resolve;
    });
    let started = () => {};
    const firstBytesIn = new Promise<void>((resolve) => {
      started = resolve;
    });
    const rest = pseudoRandom(1000, 'slow');
    async function* slow(): AsyncGenerator<Uint8Array> {
      yield rest.subarray(0, 500);
      await gate;
      yield rest.subarray(500);
    }
    const pending = store.put(slow(), { onProgress: started });
    await firstBytesIn;
    // The local store has bytes on disk by now; S3 holds them until a part fills.
    if (backend.kind === 'local') await vi.waitFor(async () => expect(await staged()).toHaveLength(1));
    expect(await listAll(store)).toEqual([done]);
    resume();
    const late = await pending;
    expect(await listAll(store)).toEqual([done, late].sort((a, b) => a.sha256.localeCompare(b.sha256)));
    expect(await staged()).toEqual([]);
  });

  it.each([
    ['one part', 1000],
    ['several parts', IMAGE.length],
  ])('tells when an object was stored, and a put of the same bytes (%s) makes it new', async (_what, size) => {
    const { store, onDisk } = backend.open();
    const bytes = IMAGE.subarray(0, size);
    const object = await store.put(chunked(bytes));
    const stored = await store.stat(object.sha256);
    expect(stored?.modifiedAt).toBeGreaterThan(0);
    expect(await list(store)).toEqual([stored]);

    // Whole seconds: S3 dates have no milliseconds.
    const longAgo = Math.floor((Date.now() - 2 * HOUR) / 1000) * 1000;
    await backdate(onDisk, object.sha256, new Date(longAgo));
    expect(await list(store)).toEqual([{ ...object, modifiedAt: longAgo }]);
    expect(await store.put(chunked(bytes))).toEqual(object);
    const again = await store.stat(object.sha256);
    expect(again?.modifiedAt).toBeGreaterThan(longAgo + HOUR);
    expect(await list(store)).toEqual([again]);
  });

  it('gives a local file with the object bytes', async () => {
    const { store } = backend.open();
    const bytes = pseudoRandom(300_000, 'copy');
    const { sha256: hash } = await store.put(chunked(bytes));
    const copy = await store.localCopy(hash, tempDir());
    expect((await readFile(copy.path)).equals(bytes)).toBe(true);
    await copy.release();
    // The local directory hands out the object itself, which must outlive the release.
    if (backend.kind === 'local') expect((await stat(copy.path)).size).toBe(bytes.length);
    else await expect(stat(copy.path)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await store.stat(hash)).not.toBeNull();
  });

  it('deletes an object, and deleting it again is harmless', async () => {
    const { store } = backend.open();
    const keep = await store.put(chunked(pseudoRandom(1000, 'keep')));
    const gone = await store.put(chunked(pseudoRandom(1000, 'gone')));
    await store.delete(gone.sha256);
    expect(await store.stat(gone.sha256)).toBeNull();
    await expect(store.get(gone.sha256)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await listAll(store)).toEqual([keep]);
    await store.delete(gone.sha256);
  });

  it('answers a ping on a fresh store, making its directory or bucket as a first upload would', async () => {
    const { store } = backend.open();
    await store.ping();
    await store.ping();
    const object = await store.put(chunked(pseudoRandom(1000, 'after-ping')));
    expect(await listAll(store)).toEqual([object]);
  });
});

describe('local artifact store', () => {
  it('fails a ping once its directory is gone or is no directory', async () => {
    const { store, root } = openLocal();
    await store.ping();
    await rm(root, { recursive: true });
    await writeFile(root, 'not a directory');
    await expect(store.ping()).rejects.toMatchObject({ code: 'IO' });
  });

  it('hashes what each upload holds when several arrive at once in odd-sized chunks, however their writes complete', async () => {
    // The hash is made from the staged file on another thread, behind writes of about
    // 1 MiB that may complete out of order: sizes across several writes, both sources.
    const { store } = openLocal();
    const images = [1, 1024 * 1024 - 1, 1024 * 1024 + 1, 3_333_333, 9_000_001].map((size) => pseudoRandom(size, `concurrent-${size}`));
    const piecesOf = (bytes: Buffer) => {
      const pieces: Buffer[] = [];
      for (let at = 0, n = 1; at < bytes.length; at += 65_521 * n, n = (n % 7) + 1) pieces.push(bytes.subarray(at, at + 65_521 * n));
      return pieces;
    };
    const stored = await Promise.all(images.flatMap((image) => [store.put(Readable.from(piecesOf(image))), store.put((async function* () { yield* piecesOf(image); })())]));
    expect(stored).toEqual(images.flatMap((image) => [0, 1].map(() => ({ sha256: sha256(image), size: image.length }))));
    for (const image of images) expect((await readAll(await store.get(sha256(image)))).equals(image)).toBe(true);
  });

  it('gives back the disk space of an object a put of the same bytes replaced, and the new file serves them', async () => {
    // The replaced file is held open across the rename so that freeing its blocks does
    // not hold up the put; once the put is done, nothing of it may stay open.
    const { store, root } = openLocal();
    const bytes = pseudoRandom(3_000_000, 'replaced');
    const object = await store.put(chunked(bytes));
    const path = join(root, object.sha256.slice(0, 2), object.sha256);
    const first = (await stat(path)).ino;
    const openDeleted = async () => {
      const targets = await Promise.all((await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
      return targets.filter((target) => target.startsWith(path) && target.endsWith('(deleted)'));
    };
    expect(await store.put(chunked(bytes))).toEqual(object);
    expect((await stat(path)).ino).not.toBe(first);
    await vi.waitFor(async () => expect(await openDeleted()).toEqual([]));
    expect((await readAll(await store.get(object.sha256))).equals(bytes)).toBe(true);
  });

  it('keeps objects as read-only files at <root>/<2 hex>/<sha256>', async () => {
    const { store, root } = openLocal();
    const { sha256: hash } = await store.put(chunked(pseudoRandom(1000, 'layout')));
    const info = await stat(join(root, hash.slice(0, 2), hash));
    expect(info.mode & 0o777).toBe(0o444);
  });

  it('does not list a leftover in .staging, and cleanStaging removes it', async () => {
    const { store, root, staged } = openLocal();
    const object = await store.put(chunked(pseudoRandom(1000, 'real')));
    const leftover = pseudoRandom(1000, 'crashed');
    // A crashed upload leaves bytes under a random name; give it an object's name too,
    // to be sure the listing never looks inside .staging.
    await writeFile(join(root, '.staging', sha256(leftover)), leftover);
    expect(await listAll(store)).toEqual([object]);
    expect(await store.cleanStaging()).toBe(1);
    expect(await staged()).toEqual([]);
    expect(await listAll(store)).toEqual([object]);
  });

  it('cleanStaging keeps the uploads of another process that still runs and removes those of one that is gone', async () => {
    const { store, root, staged } = openLocal();
    await store.ping();
    // A server beside this one, on the same directory, receiving an upload right now.
    const running = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    onTestFinished(() => void running.kill());
    const gone = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await new Promise((resolve) => gone.once('exit', resolve));
    await writeFile(join(root, '.staging', `${running.pid}-upload-in-progress`), 'half an image');
    await writeFile(join(root, '.staging', `${gone.pid}-crashed-upload`), 'half an image');
    await writeFile(join(root, '.staging', 'unnamed-leftover'), 'from a version before staged names had a pid');
    expect(await store.cleanStaging()).toBe(2);
    expect(await staged()).toEqual([`${running.pid}-upload-in-progress`]);
  });
});

describe('S3 artifact store', () => {
  it('hands out a presigned URL that serves the bytes', async () => {
    const { store } = openS3();
    const bytes = pseudoRandom(200_000, 'presigned');
    const { sha256: hash } = await store.put(chunked(bytes));
    const response = await fetch(await store.presignedUrl(hash, 60));
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('creates its bucket on first use and keeps objects under objects/', async () => {
    const { store, bucket } = openS3();
    const client = testClient();
    expect(await client.bucketExists(bucket)).toBe(false);
    const { sha256: hash } = await store.put(chunked(pseudoRandom(1000, 'bucket')));
    expect(await keys(client, bucket, '')).toEqual([`objects/${hash}`]);
  });

  it('fails a ping when its bucket is removed behind its back', async () => {
    const { store, bucket } = openS3();
    await store.ping();
    await testClient().removeBucket(bucket);
    await expect(store.ping()).rejects.toMatchObject({ code: 'IO', message: expect.stringContaining(`bucket ${bucket}`) });
  });

  it('fails a ping when nothing listens at the endpoint', async () => {
    const store = S3ArtifactStore.fromUrl(`http://127.0.0.1:${await closedPort()}`, { bucket: 'nobody-home', ...S3_KEYS });
    await expect(store.ping()).rejects.toMatchObject({ code: 'IO' });
  });

  it.each([
    ['a path', 'http://127.0.0.1:9000/bucket'],
    ['credentials', 'http://user:pass@127.0.0.1:9000'],
    ['another scheme', 'ftp://127.0.0.1:9000'],
    ['no URL at all', '127.0.0.1:9000x'],
  ])('refuses an endpoint URL with %s', (_what, url) => {
    expect(() => S3ArtifactStore.fromUrl(url, { bucket: 'b', ...S3_KEYS })).toThrow(expect.objectContaining({ code: 'VALIDATION' }));
  });
});

describe('createArtifactStore', () => {
  it('uses the local directory unless S3 is configured', async () => {
    const artifactsDir = tempDir();
    expect((await createArtifactStore({ artifactsDir })).kind).toBe('local');
    const s3 = { endpoint: 'http://127.0.0.1:9000', bucket: 'fota', ...S3_KEYS };
    expect((await createArtifactStore({ artifactsDir, s3 })).kind).toBe('s3');
  });
});
