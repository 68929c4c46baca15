// How the agent reads and places whole images. A real device holds one copy of each and
// hashes it when it must; the fleet simulator runs thousands of agents in one process and
// shares identical images between them (simulate/images.ts) through this seam. Whatever
// the implementation, an image file is never changed in place: it is replaced whole.
import { copyFile } from 'node:fs/promises';
import { commitFile, tempPathFor } from '../files.ts';
import { type Digest, hashFile } from '../hashing.ts';

export interface ImageFiles {
  /** SHA-256 and size of the image at `path`, as its bytes are now. */
  hash(path: string): Promise<Digest>;
  /** Puts a copy of `source` at `target`, whole or not at all. */
  copy(source: string, target: string): Promise<void>;
  /** `path` now holds a checked image with this digest (it may be swapped for a shared copy). */
  installed(path: string, digest: Digest): Promise<void>;
}

/** One device, one copy of each image. */
export const localImages: ImageFiles = {
  hash: (path) => hashFile(path),
  copy: async (source, target) => {
    const tmp = tempPathFor(target);
    await copyFile(source, tmp);
    await commitFile(tmp, target, 0o644);
  },
  installed: async () => undefined,
};
