// The download block cache on real files: blocks come back whole and right, downloads of
// one package share them, memory stays within the budget, and a damaged (short) file
// breaks the download off instead of being padded or cached.
import { createHash } from 'node:crypto';
import { truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BLOCK_BYTES, BlockCache, type BlockKey } from '../../src/download/block-cache.ts';
import { cachedFileSource, WRITE_BYTES } from '../../src/download/source.ts';
import { pseudoRandom, tempDir } from '../support/harness.ts';

async function objectFile(size: number, seed: string): Promise<{ key: BlockKey; bytes: Buffer }> {
  const bytes = pseudoRandom(size, seed);
  const path = join(tempDir(), 'object');
  await writeFile(path, bytes);
  return { key: { path, sha256: createHash('sha256').update(bytes).digest('hex'), size }, bytes };
}

async function readAll(cache: BlockCache, key: BlockKey, start: number, end: number): Promise<Buffer> {
  const source = cachedFileSource(cache, key, { start, end }, async () => {});
  const parts: Uint8Array[] = [];
  for (let chunk = await source.read(); chunk; chunk = await source.read()) {
    expect(chunk.length).toBeLessThanOrEqual(WRITE_BYTES);
    parts.push(chunk);
  }
  await source.close();
  return Buffer.concat(parts);
}

describe('BlockCache', () => {
  it.each([
    ['the whole file', 0, -1],
    ['a range across a block boundary', BLOCK_BYTES - 10, BLOCK_BYTES + 10],
    ['the last byte', -1, -1],
    ['one byte in the middle', 1_234_567, 1_234_567],
  ])('serves exactly %s', async (_label, from, to) => {
    const size = 2 * BLOCK_BYTES + 12_345;
    const { key, bytes } = await objectFile(size, 'exact');
    const start = from < 0 ? size + from : from;
    const end = to < 0 ? size + to : to;
    expect((await readAll(new BlockCache(8 * BLOCK_BYTES), key, start, end)).equals(bytes.subarray(start, end + 1))).toBe(true);
  });

  it('hands every download of a package the same block, loaded once', async () => {
    const { key } = await objectFile(BLOCK_BYTES + 1, 'shared');
    const cache = new BlockCache(4 * BLOCK_BYTES);
    const [a, b] = await Promise.all([cache.block(key, 0), cache.block(key, 0)]);
    expect(a === b).toBe(true);
    expect(await cache.block(key, 1)).toHaveLength(1);
    expect(cache.heldBytes).toBe(BLOCK_BYTES + 1);
  });

  it('keeps no more than its budget, dropping the least recently used blocks', async () => {
    const { key, bytes } = await objectFile(5 * BLOCK_BYTES, 'budget');
    const cache = new BlockCache(2 * BLOCK_BYTES);
    const first = await cache.block(key, 0);
    const last = await cache.block(key, 4);
    expect((await readAll(cache, key, 0, bytes.length - 1)).equals(bytes)).toBe(true);
    expect(cache.heldBytes).toBe(2 * BLOCK_BYTES);
    // The last block read stayed; the first was dropped and is read again.
    // (Compared by identity: toBe's failure hint would compare 1 MiB byte by byte.)
    expect((await cache.block(key, 4)) === last).toBe(false); // the download read it again after 'last' was dropped
    const again = await cache.block(key, 0);
    expect(again === first).toBe(false);
    expect(again.equals(bytes.subarray(0, BLOCK_BYTES))).toBe(true);
    expect(cache.heldBytes).toBe(2 * BLOCK_BYTES);
  });

  it('with a budget of 0 caches nothing and still serves', async () => {
    const { key, bytes } = await objectFile(BLOCK_BYTES + 5, 'none');
    const cache = new BlockCache(0);
    expect((await readAll(cache, key, 0, bytes.length - 1)).equals(bytes)).toBe(true);
    expect(cache.heldBytes).toBe(0);
  });

  it('breaks off on a file shorter than recorded, and does not cache the failure', async () => {
    const { key, bytes } = await objectFile(BLOCK_BYTES + 1000, 'short');
    await truncate(key.path, BLOCK_BYTES + 10);
    const cache = new BlockCache(4 * BLOCK_BYTES);
    await expect(readAll(cache, key, 0, bytes.length - 1)).rejects.toMatchObject({ code: 'INTEGRITY' });
    expect(cache.heldBytes).toBe(BLOCK_BYTES);
    // Repaired, the same block is read again rather than the failure served from memory.
    await writeFile(key.path, bytes);
    expect((await cache.block(key, 1)).equals(bytes.subarray(BLOCK_BYTES))).toBe(true);
  });

  it('reads a file rewritten in place afresh (its modified time is in the key)', async () => {
    const { key, bytes } = await objectFile(1000, 'rewritten');
    const cache = new BlockCache(4 * BLOCK_BYTES);
    expect((await readAll(cache, { ...key, modifiedAt: 1 }, 0, 999)).equals(bytes)).toBe(true);
    const damaged = Buffer.from(bytes);
    damaged[500] = (damaged[500] ?? 0) ^ 0xff;
    await writeFile(key.path, damaged);
    expect((await readAll(cache, { ...key, modifiedAt: 2 }, 0, 999)).equals(damaged)).toBe(true);
  });
});
