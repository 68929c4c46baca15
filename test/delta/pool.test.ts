import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeltaPool, deltaCacheKey, diffMemoryEstimate } from '../../src/delta/pool.ts';
import { nextBuild, pseudoRandom, tempDir } from '../support/harness.ts';

async function images(dir: string, size: number, name = 'img') {
  const old = pseudoRandom(size, name);
  const oldPath = join(dir, `${name}.old`);
  const newPath = join(dir, `${name}.new`);
  await writeFile(oldPath, old);
  await writeFile(newPath, nextBuild(old));
  return { oldPath, newPath };
}

describe('DeltaPool', () => {
  it('diffs and patches back to the exact new image', async () => {
    const dir = tempDir();
    const { oldPath, newPath } = await images(dir, 200_000);
    const pool = new DeltaPool();
    const patchPath = join(dir, 'p.bsdiff');
    const diffResult = await pool.diff(oldPath, newPath, patchPath);
    expect(diffResult.maxRssBytes).toBeGreaterThan(0);
    expect((await readFile(patchPath)).subarray(0, 8).toString()).toBe('BSDIFF40');
    const outPath = join(dir, 'out');
    await pool.patch(oldPath, patchPath, outPath, 200_300);
    expect((await readFile(outPath)).equals(await readFile(newPath))).toBe(true);
  });

  it('keeps the event loop free while a diff runs', async () => {
    const dir = tempDir();
    const { oldPath, newPath } = await images(dir, 3_000_000);
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 5);
    const before = ticks;
    await new DeltaPool().diff(oldPath, newPath, join(dir, 'p'));
    clearInterval(timer);
    expect(ticks - before).toBeGreaterThan(1);
  });

  it('runs no more jobs at once than its concurrency', async () => {
    const dir = tempDir();
    const pool = new DeltaPool({ concurrency: 1 });
    const pairs = await Promise.all([0, 1, 2].map((i) => images(dir, 100_000, `i${i}`)));
    const seen: number[] = [];
    const jobs = pairs.map(({ oldPath, newPath }, i) => pool.diff(oldPath, newPath, join(dir, `p${i}`)));
    const watcher = setInterval(() => seen.push(pool.stats().running), 1);
    await Promise.all(jobs);
    clearInterval(watcher);
    expect(Math.max(...seen)).toBe(1);
    expect(pool.stats()).toEqual({ running: 0, queued: 0, memoryInUse: 0 });
  });

  it('makes a job wait while the memory budget is taken, then runs it', async () => {
    const dir = tempDir();
    const a = await images(dir, 100_000, 'a');
    const b = await images(dir, 100_000, 'b');
    // Room for one job at a time although two cores are allowed.
    const pool = new DeltaPool({ concurrency: 2, memoryBudgetBytes: diffMemoryEstimate(100_000, 100_300) + 1 });
    // Sampled all along, not after a fixed wait: a 100 kB diff can finish within any wait.
    const seen: Array<{ running: number; queued: number }> = [];
    const watcher = setInterval(() => seen.push(pool.stats()), 1);
    const first = pool.diff(a.oldPath, a.newPath, join(dir, 'pa'));
    const second = pool.diff(b.oldPath, b.newPath, join(dir, 'pb'));
    await Promise.all([first, second]);
    clearInterval(watcher);
    expect(Math.max(...seen.map((s) => s.running))).toBe(1);
    expect(seen.some((s) => s.running === 1 && s.queued === 1)).toBe(true);
    expect(pool.stats().running).toBe(0);
  });

  it('refuses at once a job larger than the whole budget, naming the sizes', async () => {
    const dir = tempDir();
    const { oldPath, newPath } = await images(dir, 100_000);
    const pool = new DeltaPool({ memoryBudgetBytes: 1024 * 1024 });
    await expect(pool.diff(oldPath, newPath, join(dir, 'p'))).rejects.toThrow(/needs about \d+ MiB, more than the whole delta memory budget of 1 MiB/);
  });

  it('drops a queued job when its signal aborts', async () => {
    const dir = tempDir();
    const { oldPath, newPath } = await images(dir, 100_000);
    const pool = new DeltaPool({ concurrency: 1 });
    const running = pool.diff(oldPath, newPath, join(dir, 'p1'));
    const controller = new AbortController();
    const queued = pool.diff(oldPath, newPath, join(dir, 'p2'), { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 10));
    controller.abort(new Error('build deleted'));
    await expect(queued).rejects.toThrow('build deleted');
    await running;
  });

  it('reports a corrupt patch as an error instead of crashing', async () => {
    const dir = tempDir();
    const { oldPath } = await images(dir, 10_000);
    const patchPath = join(dir, 'bad');
    await writeFile(patchPath, Buffer.concat([Buffer.from('BSDIFF40'), pseudoRandom(200, 'junk')]));
    await expect(new DeltaPool().patch(oldPath, patchPath, join(dir, 'out'), 10_000)).rejects.toThrow(/bsdiff patch failed/);
  });
});

describe('DeltaPool with a cache', () => {
  it('diffs a new pair for real and keeps the patch under a name made of both contents', async () => {
    const dir = tempDir();
    const { oldPath, newPath } = await images(dir, 100_000);
    const cacheDir = join(dir, 'cache');
    const result = await new DeltaPool({ cacheDir }).diff(oldPath, newPath, join(dir, 'p'));
    // A child process ran the diff: only a real job reports its memory.
    expect(result.maxRssBytes).toBeGreaterThan(0);
    expect(await readdir(cacheDir)).toEqual([`${await deltaCacheKey(oldPath, newPath)}.bsdiff40`]);
    await new DeltaPool().diff(oldPath, newPath, join(dir, 'uncached'));
    expect((await readFile(join(dir, 'p'))).equals(await readFile(join(dir, 'uncached')))).toBe(true);
  });

  it('copies a pair it has seen from the cache instead of diffing it again', async () => {
    const dir = tempDir();
    const { oldPath, newPath } = await images(dir, 100_000);
    const cacheDir = join(dir, 'cache');
    const pool = new DeltaPool({ cacheDir });
    await pool.diff(oldPath, newPath, join(dir, 'first'));
    // Bytes no diff would make: what comes back is the cached file, not a new diff.
    const planted = Buffer.from('BSDIFF40 from the cache');
    await writeFile(join(cacheDir, `${await deltaCacheKey(oldPath, newPath)}.bsdiff40`), planted);
    const again = await pool.diff(oldPath, newPath, join(dir, 'second'));
    expect(again.maxRssBytes).toBe(0);
    expect(await readFile(join(dir, 'second'))).toEqual(planted);
  });

  it('tells pairs apart by content: another image, or the same two the other way round, is another key', async () => {
    const dir = tempDir();
    const a = await images(dir, 10_000, 'a');
    const b = await images(dir, 10_000, 'b');
    const keys = new Set(await Promise.all([deltaCacheKey(a.oldPath, a.newPath), deltaCacheKey(a.newPath, a.oldPath), deltaCacheKey(b.oldPath, b.newPath), deltaCacheKey(a.oldPath, b.newPath)]));
    expect(keys.size).toBe(4);
    // The same bytes under another name are the same pair.
    await writeFile(join(dir, 'copy'), await readFile(a.oldPath));
    expect(await deltaCacheKey(join(dir, 'copy'), a.newPath)).toBe(await deltaCacheKey(a.oldPath, a.newPath));
  });

  it('writes nothing anywhere without a cache directory', async () => {
    const dir = tempDir();
    const { oldPath, newPath } = await images(dir, 10_000);
    await new DeltaPool().diff(oldPath, newPath, join(dir, 'p'));
    expect((await readdir(dir)).sort()).toEqual(['img.new', 'img.old', 'p']);
  });
});
