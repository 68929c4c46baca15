// One descriptor per package file for the downloads sending from it (open-files.ts).
import { fstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OpenFiles } from '../../src/download/open-files.ts';

const isOpen = (fd: number) => {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
};
const closedSoon = async (fd: number) => {
  const deadline = Date.now() + 2_000;
  while (isOpen(fd) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  return !isOpen(fd);
};

describe('OpenFiles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fota-open-files-'));
  const path = join(dir, 'package');
  writeFileSync(path, 'bytes');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('shares one descriptor among the downloads holding a file, and closes it after the last', async () => {
    const files = new OpenFiles((err) => {
      throw err;
    });
    const a = files.acquire(path, 1);
    const b = files.acquire(path, 1);
    const fd = await a.fd;
    expect(await b.fd).toBe(fd);
    a.release();
    a.release(); // a second release of the same hold changes nothing
    expect(isOpen(fd)).toBe(true);
    expect(files.size).toBe(1);
    b.release();
    expect(files.size).toBe(0);
    expect(await closedSoon(fd)).toBe(true);
    // The next download opens it again.
    const c = files.acquire(path, 1);
    expect(isOpen(await c.fd)).toBe(true);
    c.release();
  });

  it('opens a file of another version (modified time) on its own descriptor', async () => {
    const files = new OpenFiles(() => {});
    const old = files.acquire(path, 1);
    const replaced = files.acquire(path, 2);
    expect(await replaced.fd).not.toBe(await old.fd);
    old.release();
    replaced.release();
  });

  it('hands the open error to every holder, keeps nothing, and tries again next time', async () => {
    const files = new OpenFiles(() => {});
    const missing = join(dir, 'missing');
    const a = files.acquire(missing, 1);
    const b = files.acquire(missing, 1);
    await expect(a.fd).rejects.toThrow(/ENOENT/);
    await expect(b.fd).rejects.toThrow(/ENOENT/);
    expect(files.size).toBe(0);
    a.release();
    b.release();
    writeFileSync(missing, 'now here');
    const c = files.acquire(missing, 1);
    expect(isOpen(await c.fd)).toBe(true);
    c.release();
  });
});
