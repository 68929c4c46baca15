// The fleet simulator's image store: each distinct image once on disk, device slots as
// hard links of it, hashes of linked images answered without reading them, and nothing
// trusted that is not a link of a checked blob.
import { copyFile, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SharedImages } from '../../src/device/simulate/images.ts';
import { pseudoRandom, sha256, tempDir } from '../support/harness.ts';

async function setUp() {
  const dir = tempDir();
  const image = join(dir, 'image.bin');
  const bytes = pseudoRandom(100_000, 'images');
  await writeFile(image, bytes);
  return { dir, image, bytes, store: await SharedImages.open(join(dir, 'store')) };
}

describe('shared images', () => {
  it('stores an image once however many slots start from it, and knows their hash', async () => {
    const { dir, image, bytes, store } = await setUp();
    const slots = [1, 2, 3].map((n) => join(dir, `slot-${n}.bin`));
    for (const slot of slots) await store.copy(image, slot);
    const blob = join(dir, 'store', sha256(bytes));
    expect(await readdir(join(dir, 'store'))).toEqual([sha256(bytes)]);
    expect((await stat(blob)).nlink).toBe(4);
    expect((await readFile(slots[2] ?? '')).equals(bytes)).toBe(true);
    expect(await store.hash(slots[0] ?? '')).toEqual({ sha256: sha256(bytes), size: bytes.length });
    expect(store.stats()).toMatchObject({ blobs: 1, links: 3, copies: 0, hashesKnown: 1, hashesComputed: 1 });
  });

  it('hashes a file that is not a link of a blob by reading it, even with the same bytes', async () => {
    const { dir, image, bytes, store } = await setUp();
    await store.copy(image, join(dir, 'slot.bin'));
    const copy = join(dir, 'copy.bin');
    await copyFile(image, copy);
    expect(await store.hash(copy)).toEqual({ sha256: sha256(bytes), size: bytes.length });
    await writeFile(copy, 'changed');
    expect((await store.hash(copy)).sha256).toBe(sha256(Buffer.from('changed')));
    expect(store.stats().hashesComputed).toBe(3);
  });

  it('swaps an installed private copy for a link of the blob with its content, or makes it the blob', async () => {
    const { dir, bytes, store } = await setUp();
    const slots = [1, 2].map((n) => join(dir, `b-${n}.bin`));
    for (const slot of slots) await writeFile(slot, bytes);
    await store.installed(slots[0] ?? '', { sha256: sha256(bytes), size: bytes.length });
    await store.installed(slots[1] ?? '', { sha256: sha256(bytes), size: bytes.length });
    const blob = join(dir, 'store', sha256(bytes));
    expect((await stat(blob)).nlink).toBe(3);
    expect((await stat(slots[1] ?? '')).ino).toBe((await stat(blob)).ino);
    expect(store.stats().blobs).toBe(1);
  });

  it('keeps the blobs of an earlier run and drops damaged ones and leftovers', async () => {
    const { dir, image, bytes } = await setUp();
    const first = await SharedImages.open(join(dir, 'store'));
    await first.copy(image, join(dir, 'slot.bin'));
    const made = await first.produce(async (tmp) => writeFile(tmp, 'other image'));
    await writeFile(made.path, 'damaged');
    await writeFile(join(dir, 'store', 'import.tmp-1-abcd'), 'left by a crash');
    const second = await SharedImages.open(join(dir, 'store'));
    expect(await readdir(join(dir, 'store'))).toEqual([sha256(bytes)]);
    expect(await second.hash(join(dir, 'slot.bin'))).toEqual({ sha256: sha256(bytes), size: bytes.length });
    expect(second.stats()).toMatchObject({ blobs: 1, hashesKnown: 1, hashesComputed: 0 });
  });
});
