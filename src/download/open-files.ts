// Package files held open for the downloads sending from them (sendfile.ts): one
// descriptor per file, shared by every download under way from it, closed when the last
// one ends. sendfile reads at an offset of its own and never moves the file's position,
// so sharing is safe. A campaign's downloads then cost one open between them rather than
// one each (an open goes through libuv's thread pool), and a download holds no file of
// its own: only its socket, and while it waits on a full socket, the watcher's copy of it.
import { close, open } from 'node:fs';

export interface OpenFile {
  /** The descriptor, or the error opening the file gave. */
  fd: Promise<number>;
  /** Call exactly once, when the download is over (also when fd was rejected). */
  release(): void;
}

interface Entry {
  fd: Promise<number>;
  users: number;
}

export class OpenFiles {
  private readonly files = new Map<string, Entry>();

  constructor(private readonly onCloseError: (err: Error) => void) {}

  /**
   * `path` opened for reading, shared with the downloads holding it now. `version` (the
   * file's modified time) keeps a file replaced under the same path from being served
   * through the descriptor of the one before.
   */
  acquire(path: string, version: number | undefined): OpenFile {
    const key = `${version ?? ''}:${path}`;
    let entry = this.files.get(key);
    if (!entry) {
      const fd = new Promise<number>((resolve, reject) => open(path, 'r', (err, fd) => (err ? reject(err) : resolve(fd))));
      const created: Entry = { fd, users: 0 };
      entry = created;
      this.files.set(key, created);
      // A failed open is not kept: the next download tries again.
      fd.catch(() => this.files.get(key) === created && this.files.delete(key));
    }
    const held = entry;
    held.users += 1;
    let released = false;
    return {
      fd: held.fd,
      release: () => {
        if (released) return;
        released = true;
        held.users -= 1;
        if (held.users > 0) return;
        if (this.files.get(key) === held) this.files.delete(key);
        held.fd.then(
          (fd) => close(fd, (err) => err && this.onCloseError(err)),
          () => {},
        );
      },
    };
  }

  /** Files open now (for tests). */
  get size(): number {
    return this.files.size;
  }
}
