// Counts the passes Node makes over each file (calls of fs.createReadStream, which every
// whole-file read in the package code goes through: hashing, the .fota writer, putFile),
// so a test can guard how often the pipeline reads an image. Reads in child processes
// (bsdiff) are not seen. A test file installs it with
//   vi.mock('node:fs', async (original) => (await import('../support/streamed-files.ts')).countingFs(await original()));
// and vitest applies the mock to every module that file loads, the server's included.
import type * as fs from 'node:fs';

const passes = new Map<string, number>();

export function countingFs(real: typeof fs): typeof fs {
  const createReadStream = ((path, options) => {
    passes.set(String(path), (passes.get(String(path)) ?? 0) + 1);
    return real.createReadStream(path, options);
  }) as typeof real.createReadStream;
  return { ...real, createReadStream };
}

/** How many times `path` was opened for streaming since the last reset. */
export function passesOver(path: string): number {
  return passes.get(path) ?? 0;
}

export function resetPasses(): void {
  passes.clear();
}
