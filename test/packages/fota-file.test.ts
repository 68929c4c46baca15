import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FOTA_MAGIC, fotaFileBytes, HEADER_SIZE, MAX_ENVELOPE_SIZE, readFotaFile } from '../../src/packages/fota-file.ts';
import { makePackage } from '../../src/packages/make.ts';
import { manifestSchema } from '../../src/packages/manifest.ts';
import { generateKey } from '../../src/signing/keys.ts';
import { LocalArtifactStore } from '../../src/store/artifacts/local-store.ts';
import { nextBuild, pseudoRandom, sha256, tempDir } from '../support/harness.ts';
import { makeTestPackage, pool } from '../support/packages.ts';

function header(length: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(length);
  return Buffer.concat([FOTA_MAGIC, b]);
}

describe('.fota reader', () => {
  it('reads back the envelope and locates the payload', async () => {
    const pkg = await makeTestPackage(tempDir());
    const file = await readFotaFile(pkg.packagePath);
    const bytes = await readFile(pkg.packagePath);
    expect(file.payloadOffset + file.payloadSize).toBe(bytes.length);
    expect(file.envelope.signed).toMatchObject({ type: 'fota.package', model: 'router-x' });
    expect(bytes.readUInt32BE(FOTA_MAGIC.length)).toBe(file.payloadOffset - HEADER_SIZE);
  });

  const json = Buffer.from('{"signed":{},"signatures":[]}');
  it.each([
    ['an empty file', Buffer.alloc(0), /too short/],
    ['a file of other content', Buffer.from('#!/bin/sh\necho not a package\n'), /no FOTA1 magic/],
    ['only the magic', FOTA_MAGIC, /too short/],
    ['a length past the end of the file', Buffer.concat([header(1000), json]), /runs past the end of the file/],
    ['a length of 4 GiB', Buffer.concat([header(0xffffffff), json]), /runs past the end/],
    ['a length over the envelope limit', Buffer.concat([header(MAX_ENVELOPE_SIZE + 1), Buffer.alloc(MAX_ENVELOPE_SIZE + 1)]), /exceeds the/],
    ['an envelope that is not JSON', Buffer.concat([header(5), Buffer.from('{"sig')]), /not valid UTF-8 JSON/],
    ['an envelope with invalid UTF-8', Buffer.concat([header(4), Buffer.from([0x22, 0xff, 0xfe, 0x22])]), /not valid UTF-8 JSON/],
    ['an envelope of the wrong shape', Buffer.concat([header(2), Buffer.from('[]')]), /envelope/],
    ['a signature that is not base64', Buffer.concat([header(60), Buffer.from(`{"signed":{},"signatures":[{"keyid":"${'a'.repeat(64)}","sig":1}]}`.slice(0, 60))]), /envelope/],
  ])('refuses %s with a clear error', async (_name, bytes, message) => {
    const path = join(tempDir(), 'x.fota');
    await writeFile(path, bytes);
    await expect(readFotaFile(path)).rejects.toThrow(message);
  });

  it('refuses a directory and a missing file with one plain line', async () => {
    const dir = tempDir();
    await mkdir(join(dir, 'd.fota'));
    await expect(readFotaFile(join(dir, 'd.fota'))).rejects.toThrow(/is a directory/);
    await expect(readFotaFile(join(dir, 'none.fota'))).rejects.toThrow(/no such file/);
  });
});

describe('.fota writer', () => {
  it.each([
    ['a delta', false],
    ['a full image', true],
  ])('tells where the payload of %s starts, as a reader of the file finds it', async (_name, full) => {
    const dir = tempDir();
    const old = pseudoRandom(200_000, 'writer-v1');
    await writeFile(join(dir, 'v1'), old);
    await writeFile(join(dir, 'v2'), nextBuild(old));
    const outPath = join(dir, 'p.fota');
    const made = await makePackage({
      manufacturer: 'acme',
      model: 'router-x',
      ...(full ? {} : { from: { path: join(dir, 'v1'), version: '1.0' } }),
      to: { path: join(dir, 'v2'), version: '2.0' },
      key: generateKey(),
      outPath,
      pool,
    });
    expect(made.kind).toBe(full ? 'full' : 'bsdiff40');
    const file = await readFotaFile(outPath);
    expect(made.file).toEqual({ payloadOffset: file.payloadOffset, payloadSize: file.payloadSize, size: (await stat(outPath)).size });
  });

  it('streams into an artifact store the very bytes of the file, and stores nothing when the payload changed after signing', async () => {
    const pkg = await makeTestPackage(tempDir(), { full: true });
    const written = await readFotaFile(pkg.packagePath);
    const envelope = { signed: manifestSchema.parse(written.envelope.signed), signatures: written.envelope.signatures };
    const store = new LocalArtifactStore(tempDir());
    const streamed = fotaFileBytes(envelope, pkg.newPath);
    const stored = await store.put(streamed.bytes);
    expect(stored).toEqual({ sha256: sha256(await readFile(pkg.packagePath)), size: streamed.layout.size });
    expect(streamed.layout.payloadOffset).toBe(written.payloadOffset);

    // Same size, other bytes: only the hash taken on the way can tell.
    const changed = Buffer.from(pkg.newImage);
    changed[changed.length - 1] = (changed[changed.length - 1] ?? 0) ^ 0xff;
    await writeFile(pkg.newPath, changed);
    await expect(store.put(fotaFileBytes(envelope, pkg.newPath).bytes)).rejects.toMatchObject({ code: 'INTEGRITY' });
    const listed = [];
    for await (const object of store.list()) listed.push(object.sha256);
    expect(listed).toEqual([stored.sha256]);
  });
});
