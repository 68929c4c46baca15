// Content-addressed images for the fleet simulator: every distinct image (the base image,
// the wrong-base variant, each installed result) is stored once, as `<dir>/<sha256>`, and
// every device slot holding it is a hard link to that blob. Two thousand devices on one
// 10 MB image take 10 MB, not 20 GB, and an update installed by all of them adds one
// more blob.
//
// It also spares the hashing: the agent hashes its running image before every package
// check, and a blob's hash is known. A file that is a hard link of a blob (same device
// and inode) has the blob's bytes, because nothing in the agent writes an image in place
// (slots are replaced whole, by rename) and blobs are never deleted while the store is
// open, so their inode numbers cannot be reused by other files. Anything else is hashed
// for real. Where a hard link is impossible (another file system, too many links) the
// store copies, and such a copy is hashed like any other file.
import { copyFile, link, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { tempPathFor } from '../../files.ts';
import { type Digest, hashFile } from '../../hashing.ts';
import type { ImageFiles } from '../images.ts';

export interface ImageStoreStats {
  /** Distinct images stored. */
  blobs: number;
  /** Slots linked to a blob / copied because a link failed. */
  links: number;
  copies: number;
  /** Hashes answered from the blobs' known digests / computed by reading the file. */
  hashesKnown: number;
  hashesComputed: number;
}

const SHA256_NAME = /^[0-9a-f]{64}$/;

export class SharedImages implements ImageFiles {
  /** Digest of each blob by `dev:ino`: what every hard link of it holds. */
  private readonly byInode = new Map<string, Digest>();
  private readonly bySha = new Map<string, string>();
  /** Source files imported, by absolute path: each is read and hashed once. */
  private readonly imported = new Map<string, Promise<string>>();
  /** Installed slots becoming blobs, by content: one at a time per content. */
  private readonly adopting = new Map<string, Promise<void>>();
  private readonly counts = { links: 0, copies: 0, hashesKnown: 0, hashesComputed: 0 };

  private constructor(readonly dir: string) {}

  /** Opens (or creates) the store; blobs left by an earlier run are checked and kept. */
  static async open(dir: string): Promise<SharedImages> {
    await mkdir(dir, { recursive: true });
    const store = new SharedImages(dir);
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      const digest = SHA256_NAME.test(name) ? await hashFile(path) : undefined;
      // Anything else is a temporary file of a run that died, or a damaged blob.
      if (digest?.sha256 === name) await store.register(path, { sha256: digest.sha256, size: digest.size });
      else await rm(path, { force: true });
    }
    return store;
  }

  stats(): ImageStoreStats {
    return { blobs: this.bySha.size, ...this.counts };
  }

  /** The blob of this content, if the store has it. */
  blob(sha256: string): string | undefined {
    return this.bySha.get(sha256);
  }

  async hash(path: string): Promise<Digest> {
    const info = await stat(path);
    const known = this.byInode.get(inodeKey(info));
    if (known && known.size === info.size) {
      this.counts.hashesKnown += 1;
      return known;
    }
    this.counts.hashesComputed += 1;
    const digest = await hashFile(path);
    return { sha256: digest.sha256, size: digest.size };
  }

  async copy(source: string, target: string): Promise<void> {
    await this.place(await this.importFile(source), target);
  }

  async installed(path: string, digest: Digest): Promise<void> {
    const info = await stat(path);
    if (this.byInode.has(inodeKey(info))) return; // already a link of a blob
    for (let busy = this.adopting.get(digest.sha256); busy; busy = this.adopting.get(digest.sha256)) await busy;
    const blob = this.bySha.get(digest.sha256);
    if (blob) return this.place(blob, path);
    const adoption = this.adopt(path, digest).finally(() => this.adopting.delete(digest.sha256));
    this.adopting.set(digest.sha256, adoption);
    await adoption;
  }

  /**
   * A blob of the file's content: copied in (the user may change the file later) and
   * hashed once however many devices start from it.
   */
  importFile(source: string): Promise<string> {
    const key = resolve(source);
    let blob = this.imported.get(key);
    if (!blob) {
      blob = this.importOnce(key);
      this.imported.set(key, blob);
      blob.catch(() => this.imported.delete(key));
    }
    return blob;
  }

  /**
   * Runs `write` into a temporary file of the store and keeps the result as a blob (or
   * drops it when the store has that content already); returns the blob.
   */
  async produce(write: (tmp: string) => Promise<unknown>): Promise<{ path: string; digest: Digest }> {
    const tmp = tempPathFor(join(this.dir, 'new'));
    try {
      await write(tmp);
      const hashed = await hashFile(tmp);
      this.counts.hashesComputed += 1;
      const digest = { sha256: hashed.sha256, size: hashed.size };
      return { path: await this.keep(tmp, digest), digest };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  private async importOnce(source: string): Promise<string> {
    const hashed = await hashFile(source);
    this.counts.hashesComputed += 1;
    const known = this.bySha.get(hashed.sha256);
    if (known) return known;
    const tmp = tempPathFor(join(this.dir, 'import'));
    try {
      await copyFile(source, tmp);
      return await this.keep(tmp, { sha256: hashed.sha256, size: hashed.size });
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /**
   * Links a finished file in as the blob of `digest`. A link never replaces an existing
   * name, so a blob, once there, keeps its inode for the store's life (see the header).
   */
  private async keep(file: string, digest: Digest): Promise<string> {
    const known = this.bySha.get(digest.sha256);
    if (known) return known;
    const path = join(this.dir, digest.sha256);
    try {
      await link(file, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    await this.register(path, digest);
    return path;
  }

  /** An installed slot with no blob yet: the slot's own file becomes the blob. */
  private async adopt(path: string, digest: Digest): Promise<void> {
    try {
      await this.keep(path, digest);
    } catch {
      return; // no link possible here (another file system?): the slot stays a private copy
    }
    const info = await stat(path);
    if (!this.byInode.has(inodeKey(info))) await this.place(join(this.dir, digest.sha256), path);
  }

  /** `target` becomes a hard link of `blob` (else a copy), replacing it whole. */
  async place(blob: string, target: string): Promise<void> {
    const tmp = tempPathFor(target);
    try {
      await link(blob, tmp);
      this.counts.links += 1;
    } catch {
      await copyFile(blob, tmp);
      this.counts.copies += 1;
    }
    try {
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  private async register(path: string, digest: Digest): Promise<void> {
    const info = await stat(path);
    this.byInode.set(inodeKey(info), digest);
    this.bySha.set(digest.sha256, path);
  }
}

function inodeKey(info: { dev: number; ino: number }): string {
  return `${info.dev}:${info.ino}`;
}
