// Files that appear whole or not at all: every output is written under a temporary name
// beside its destination and renamed into place only when complete, so a crash or a
// rejected package never leaves a partial file where a user expects a good one.
import { randomBytes } from 'node:crypto';
import { chmod, link, open, rename, rm, stat } from 'node:fs/promises';
import { AppError } from './errors.ts';

export function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * Runs `write` against a temporary path and renames the result onto `path` only if it
 * succeeds; on failure the temporary file is removed and the error passes through.
 */
export async function writeAtomically<T>(path: string, write: (tmp: string) => Promise<T>, mode = 0o644): Promise<T> {
  const tmp = tempPathFor(path);
  try {
    const result = await write(tmp);
    await commitFile(tmp, path, mode);
    return result;
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  await writeAtomically(
    path,
    async (tmp) => {
      // `wx` + mode at creation: a secret never exists on disk with looser permissions.
      const handle = await open(tmp, 'wx', mode);
      try {
        await handle.writeFile(data);
      } finally {
        await handle.close();
      }
    },
    mode,
  );
}

/**
 * Writes `path` whole (as writeFileAtomic) only if nothing is there yet, and says whether
 * it did: of several processes creating the same file at once, exactly one wins and the
 * others read the winner's.
 */
export async function createFileOnce(path: string, data: string | Uint8Array, mode = 0o644): Promise<boolean> {
  const tmp = tempPathFor(path);
  try {
    const handle = await open(tmp, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(tmp, mode);
    // A hard link, unlike a rename, never replaces a file that is already there.
    await link(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Moves a finished temporary file to its final name, its bytes on disk before its name. */
export async function commitFile(tmp: string, path: string, mode = 0o644): Promise<void> {
  await chmod(tmp, mode); // the umask may have narrowed the mode asked for at creation
  const handle = await open(tmp, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
}

/** Stats an input file and turns "missing", "a directory" and the like into one clear line. */
export async function statInputFile(path: string, what: string) {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code ?? err);
    throw new AppError('IO', `cannot read ${what} ${path}: ${why}`);
  }
  if (!info.isFile()) throw new AppError('VALIDATION', `${what} ${path} is ${info.isDirectory() ? 'a directory' : 'not a regular file'}`);
  return info;
}

/**
 * Whether a scratch file or directory named `<pid>-...` (a staged upload, a work dir) was
 * left by a process that is gone, so it may be removed: its pid no longer runs, or is this
 * process's own (an earlier process had the pid; callers ask before they make any), or the
 * name has no pid. Pids mean something only on one machine: such directories are shared
 * by the processes of one machine, never over a network file system.
 */
export function leftByGoneProcess(name: string): boolean {
  const pid = Number(/^(\d+)-/.exec(name)?.[1]);
  if (!pid || pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'EPERM';
  }
}
