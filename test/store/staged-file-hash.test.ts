// The local artifact store hashes an upload on a worker thread that reads the staged file
// behind the writer (src/store/artifacts/file-hasher.ts). What a user relies on: the
// object's name is the SHA-256 node:crypto gives for the same bytes, at every size around
// the writer's 1 MiB blocks and the thread's 4 MiB reads, and past the writer's early
// flushes (staging-writer.ts), and a process that stored an
// upload exits by itself: neither cut short while the digest is pending nor kept alive by
// the thread afterwards (a `fota serve` that never exited after SIGTERM).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LocalArtifactStore } from '../../src/store/artifacts/local-store.ts';
import { EARLY_SYNC_BYTES, STAGING_WRITE_BYTES } from '../../src/store/artifacts/staging-writer.ts';
import { sha256, tempDir } from '../support/harness.ts';
import { exited, spawnServe } from '../support/serve-process.ts';

const MiB = 1024 * 1024;
/** The hashing thread reads the staged file this many bytes at a time. */
const READ_BYTES = 4 * MiB;

/** Pieces of random sizes (1 byte to 200 KiB), as a socket or a generator might hand them over. */
function randomPieces(bytes: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + Math.floor(Math.random() * 200 * 1024);
    pieces.push(bytes.subarray(at, at + size));
    at += size;
  }
  return pieces;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of stream) pieces.push(piece as Buffer);
  return Buffer.concat(pieces);
}

/** POSTs `image` in pieces of random sizes, as an uploader's socket writes do; the answer's JSON. */
function postInPieces(port: number, image: Buffer): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', method: 'POST', headers: { 'content-length': String(image.length) } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (piece: string) => (body += piece));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`HTTP ${res.statusCode}: ${body}`))));
    });
    req.on('error', reject);
    for (const piece of randomPieces(image)) req.write(piece);
    req.end();
  });
}

describe('hashing a staged upload on a worker thread', () => {
  const boundaries = [0, 1, 65_535, 65_536, STAGING_WRITE_BYTES - 1, STAGING_WRITE_BYTES, STAGING_WRITE_BYTES + 1, READ_BYTES - 1, READ_BYTES, READ_BYTES + 1, 2 * READ_BYTES + STAGING_WRITE_BYTES + 3];
  // Past the size at which the writer flushes while the upload goes on, once and twice.
  const flushes = [EARLY_SYNC_BYTES + STAGING_WRITE_BYTES + 1, 2 * EARLY_SYNC_BYTES + 2 * STAGING_WRITE_BYTES + 7];
  const random = Array.from({ length: 6 }, () => Math.floor(Math.random() * 9 * MiB));

  it.each([...boundaries, ...flushes, ...random])('names a %i-byte upload by the SHA-256 node:crypto gives, from a stream and from an iterable', async (size) => {
    const store = new LocalArtifactStore(join(tempDir(), 'artifacts'));
    const image = randomBytes(size);
    const expected = { sha256: sha256(image), size };
    expect(await store.put(Readable.from(randomPieces(image)))).toEqual(expected);
    // Stored again under the same name (already there): the second hash must agree too.
    expect(
      await store.put(
        (async function* () {
          yield* randomPieces(image);
        })(),
      ),
    ).toEqual(expected);
    expect((await readAll(await store.get(expected.sha256))).equals(image)).toBe(true);
  });

  // A request's body, as the server gets it: socket-sized chunks, several uploads at once.
  const overHttp = [1, 65_536, STAGING_WRITE_BYTES + 1, READ_BYTES + 3, EARLY_SYNC_BYTES + STAGING_WRITE_BYTES + 1, 40 * MiB + 7];
  it.each(overHttp)('names a %i-byte upload sent over HTTP by its SHA-256, several at once', async (size) => {
    const store = new LocalArtifactStore(join(tempDir(), 'artifacts'));
    const server = createServer((req, res) => {
      store.put(req).then(
        (stored) => res.end(JSON.stringify(stored)),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as AddressInfo;
    try {
      const images = [randomBytes(size), randomBytes(size), randomBytes(size)];
      const answers = await Promise.all(images.map((image) => postInPieces(port, image)));
      expect(answers).toEqual(images.map((image) => ({ sha256: sha256(image), size })));
      for (const image of images) expect((await readAll(await store.get(sha256(image)))).equals(image)).toBe(true);
    } finally {
      server.close();
    }
  });

  it('fails an upload whose expected SHA-256 differs from the bytes, and keeps nothing', async () => {
    const root = join(tempDir(), 'artifacts');
    const store = new LocalArtifactStore(root);
    const image = randomBytes(STAGING_WRITE_BYTES + 17);
    await expect(store.put(Readable.from(randomPieces(image)), { expectedSha256: sha256(Buffer.from('other')) })).rejects.toMatchObject({ code: 'INTEGRITY' });
    expect(await store.stat(sha256(image))).toBeNull();
    const objects = [];
    for await (const object of store.list()) objects.push(object);
    expect(objects).toEqual([]);
  });

  it('lets a command that stores a file get its hash and then exit by itself', async () => {
    // The digest is the last thing such a process waits for: the thread must keep it alive
    // until then (else it ends with the promise unsettled), and not a moment longer.
    const dir = tempDir();
    const image = randomBytes(3 * MiB + 5);
    await writeFile(join(dir, 'image.bin'), image);
    const script = join(dir, 'store-one.mts');
    await writeFile(
      script,
      [
        `import { LocalArtifactStore } from ${JSON.stringify(resolve('src/store/artifacts/local-store.ts'))};`,
        `const store = new LocalArtifactStore(${JSON.stringify(join(dir, 'artifacts'))});`,
        `const stored = await store.putFile(${JSON.stringify(join(dir, 'image.bin'))});`,
        'process.stdout.write(JSON.stringify(stored));',
      ].join('\n'),
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (piece: Buffer) => (out += piece.toString()));
    expect(await exited(child)).toBe(0);
    expect(JSON.parse(out)).toEqual({ sha256: sha256(image), size: image.length });
  });

  it('lets `fota serve` exit on SIGTERM after it has stored an upload', async () => {
    const dir = tempDir();
    const admin = 'hash-thread-admin-token-0123456789';
    const server = await spawnServe({ dataDir: join(dir, 'data'), artifactsDir: join(dir, 'artifacts'), env: { FOTA_ADMIN_TOKEN: admin } });
    try {
      const tokenRes = await fetch(`${server.url}/api/v1/tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ role: 'manufacturer', name: 'ci', manufacturer: 'acme' }),
      });
      const { token } = (await tokenRes.json()) as { token: string };
      const image = randomBytes(2 * MiB + 1);
      const res = await fetch(`${server.url}/api/v1/builds?model=hash-thread&version=1.0.0`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: image });
      expect(res.status).toBe(202);
      const build = (await (await fetch(`${server.url}/api/v1/builds/${((await res.json()) as { id: string }).id}`, { headers: { authorization: `Bearer ${admin}` } })).json()) as { sha256: string };
      expect(build.sha256).toBe(sha256(image));
    } finally {
      server.child.kill('SIGTERM');
    }
    expect(await exited(server.child)).toBe(0);
  });
});
