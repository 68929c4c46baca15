// Where a package's object is in the local artifact directory, and its modified time (part
// of the block cache's key, so a file rewritten in place is read afresh). The store is
// asked once per object (localCopy: its path, and NOT_FOUND if it is gone); after that each
// request looks at the file itself with a synchronous stat of that path. What is served
// follows the file on disk as of the request, as tests of a file removed, replaced or
// damaged in place require, and a stat costs one system call: the asynchronous one went
// through libuv's thread pool and a promise, some 3% of the server's CPU in bench:download.
// The file was read moments ago (its blocks are in the cache), so its inode is in memory
// and the call does not wait for a disk.
import { statSync } from 'node:fs';
import { BoundedMap } from '../bounded-map.ts';
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';

/** The object's path and modified time, as LocalCopy gives them. */
export interface LocalObject {
  path: string;
  modifiedAt?: number;
}

/** Paths kept: a campaign downloads one or two packages, so this is plenty. */
const KEPT_PATHS = 256;

export class LocalObjects {
  /** Each object's path in the directory (it never moves: objects are named by their hash). */
  private readonly paths = new BoundedMap<string, string>(KEPT_PATHS);

  constructor(private readonly ctx: Context) {}

  /** The object's path and modified time now, or NOT_FOUND as localCopy throws it. */
  async find(sha256: string): Promise<LocalObject> {
    const path = this.paths.get(sha256);
    if (path === undefined) {
      // The local store makes no copy: there is nothing to release.
      const copy = await this.ctx.artifacts.localCopy(sha256, this.ctx.workDir);
      this.paths.set(sha256, copy.path);
      return copy;
    }
    const info = statSync(path, { throwIfNoEntry: false });
    if (info === undefined) throw new AppError('NOT_FOUND', `no artifact with SHA-256 ${sha256}`);
    // As the local store reports it (local-store.ts stat()).
    return { path, modifiedAt: Math.floor(info.mtimeMs) };
  }
}
