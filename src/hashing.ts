// Streaming SHA-256: images can be gigabytes, so nothing here holds a whole file in memory.
// ChunkHasher also records the hash of every fixed-size slice, which is what lets a device
// check a resumed or partly corrupted download slice by slice.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export interface Digest {
  sha256: string;
  size: number;
}

export interface ChunkedDigest extends Digest {
  chunkSize: number;
  chunks: string[];
}

export const DEFAULT_CHUNK_SIZE = 1024 * 1024;

export class ChunkHasher {
  private readonly whole: Hash = createHash('sha256');
  private chunk: Hash = createHash('sha256');
  private inChunk = 0;
  private size = 0;
  private readonly chunks: string[] = [];

  constructor(readonly chunkSize = DEFAULT_CHUNK_SIZE) {}

  update(bytes: Uint8Array): void {
    this.whole.update(bytes);
    this.size += bytes.length;
    let offset = 0;
    while (offset < bytes.length) {
      const take = Math.min(this.chunkSize - this.inChunk, bytes.length - offset);
      this.chunk.update(bytes.subarray(offset, offset + take));
      this.inChunk += take;
      offset += take;
      if (this.inChunk === this.chunkSize) this.closeChunk();
    }
  }

  digest(): ChunkedDigest {
    if (this.inChunk > 0) this.closeChunk();
    return { sha256: this.whole.digest('hex'), size: this.size, chunkSize: this.chunkSize, chunks: this.chunks };
  }

  private closeChunk(): void {
    this.chunks.push(this.chunk.digest('hex'));
    this.chunk = createHash('sha256');
    this.inChunk = 0;
  }
}

export interface HashOptions {
  /** Byte range [start, end) of the file; defaults to all of it. */
  start?: number;
  end?: number;
  chunkSize?: number;
  onProgress?: (bytesDone: number) => void;
}

export async function hashFile(path: string, options: HashOptions = {}): Promise<ChunkedDigest> {
  const hasher = new ChunkHasher(options.chunkSize);
  let done = 0;
  const stream = createReadStream(path, {
    start: options.start,
    end: options.end === undefined ? undefined : options.end - 1, // createReadStream's end is inclusive
    highWaterMark: 1024 * 1024,
  });
  for await (const piece of stream as AsyncIterable<Buffer>) {
    hasher.update(piece);
    done += piece.length;
    options.onProgress?.(done);
  }
  return hasher.digest();
}
