// Package bytes in memory for downloads from the local artifact directory: files are read
// in 1 MiB blocks, and a block stays (up to a byte budget, least recently used out first)
// for every later download of the same package. A campaign sends one package to many
// devices, so almost every download is served from memory. It serves the downloads that
// cannot go by sendfile (sendfile.ts: no addon, a bandwidth budget, FOTA_DOWNLOAD_SENDFILE
// =off): without it, each of those read each byte from the page cache into a buffer of
// its own, small reads at that, and those reads cost more CPU than the socket writes.
// Objects are content-addressed and never rewritten by fota; the file's modified time is
// in the key all the same, so what is served follows the file on disk.
import { close, open, read } from 'node:fs';
import { promisify } from 'node:util';
import { AppError } from '../errors.ts';

/** One read per block: large enough that a read costs little per byte (~4x less than 64 KiB). */
export const BLOCK_BYTES = 1024 * 1024;

const openFd = promisify(open);
const readFd = promisify(read);
const closeFd = promisify(close);

export interface BlockKey {
  /** The object's path (the local store's own file). */
  path: string;
  sha256: string;
  /** The size recorded for the object: a file shorter than this is damaged. */
  size: number;
  /**
   * The file's modified time: part of the cache key, so a file rewritten in place (a
   * damaged disk repaired or damaged further by hand) is read afresh, never served from
   * what an earlier version left in memory.
   */
  modifiedAt?: number;
}

interface Entry {
  bytes: number;
  block: Promise<Buffer>;
  /** The block once read: handed out without a promise (readyBlock). */
  loaded?: Buffer;
}

export class BlockCache {
  /** In least-recently-used order (a hit moves its entry to the end). */
  private readonly blocks = new Map<string, Entry>();
  private bytes = 0;

  /** `budget`: bytes of blocks kept; 0 keeps none (each download then reads its own blocks). */
  constructor(readonly budget: number) {}

  /** Block `index` of the object: exactly min(BLOCK_BYTES, size - index * BLOCK_BYTES) bytes. */
  block(key: BlockKey, index: number): Promise<Buffer> {
    const id = blockId(key, index);
    const hit = this.touch(id);
    if (hit) return hit.block;
    const length = Math.min(BLOCK_BYTES, key.size - index * BLOCK_BYTES);
    const block = readBlock(key, index * BLOCK_BYTES, length);
    if (length > this.budget) return block;
    // Shared while it loads, so a hundred downloads starting together read it once.
    const entry: Entry = { bytes: length, block };
    this.blocks.set(id, entry);
    this.bytes += length;
    block.then(
      (loaded) => (entry.loaded = loaded),
      () => this.forget(id, entry),
    );
    this.evict();
    return block;
  }

  /**
   * Block `index` if it is in memory already, else undefined (then block() loads it).
   * A download served from memory thus moves on without a promise per chunk.
   */
  readyBlock(key: BlockKey, index: number): Buffer | undefined {
    return this.touch(blockId(key, index))?.loaded;
  }

  /** The entry, moved to the most recently used end. */
  private touch(id: string): Entry | undefined {
    const hit = this.blocks.get(id);
    if (hit) {
      this.blocks.delete(id);
      this.blocks.set(id, hit);
    }
    return hit;
  }

  /** Bytes held by cached blocks (blocks still being sent may outlive their entry). */
  get heldBytes(): number {
    return this.bytes;
  }

  private evict(): void {
    for (const [id, entry] of this.blocks) {
      if (this.bytes <= this.budget) break;
      this.forget(id, entry);
    }
  }

  private forget(id: string, entry: { bytes: number }): void {
    if (this.blocks.get(id) !== entry) return;
    this.blocks.delete(id);
    this.bytes -= entry.bytes;
  }
}

function blockId(key: BlockKey, index: number): string {
  return `${key.sha256}:${key.modifiedAt ?? ''}:${index}`;
}

async function readBlock(key: BlockKey, start: number, length: number): Promise<Buffer> {
  const fd = await openFd(key.path, 'r');
  try {
    const block = Buffer.allocUnsafeSlow(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await readFd(fd, block, filled, length - filled, start + filled);
      // Content-addressed files are never rewritten: running short means the file was
      // damaged, and the response must break off rather than pad or hang.
      if (bytesRead === 0) throw new AppError('INTEGRITY', `the package file ends at byte ${start + filled}, before the ${key.size} bytes recorded`);
      filled += bytesRead;
    }
    return block;
  } finally {
    await closeFd(fd);
  }
}
