import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeltaPool, diffMemoryEstimate } from '../../src/delta/pool.ts';
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
    const first = pool.diff(a.oldPath, a.newPath, join(dir, 'pa'));
    const second = pool.diff(b.oldPath, b.newPath, join(dir, 'pb'));
    await new Promise((r) => setTimeout(r, 20));
    expect(pool.stats()).toMatchObject({ running: 1, queued: 1 });
    await Promise.all([first, second]);
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
