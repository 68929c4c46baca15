// The footprint of a benchmark's server processes once their garbage is collected: what a
// server keeps, without what V8 has not collected yet. The servers load
// forced-gc-preload.cjs (FORCED_GC_NODE_ARGS, FORCED_GC_ENV); collectedRss signals them and
// reads their VmRSS once they have collected.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rssKiB } from './proc.ts';

export const FORCED_GC_NODE_ARGS = ['--require', fileURLToPath(new URL('forced-gc-preload.cjs', import.meta.url))];

/** The server's environment for the preload: where it says it has collected. */
export function forcedGcEnv(dir: string): Record<string, string> {
  mkdirSync(dir, { recursive: true });
  return { FOTA_BENCH_FORCED_GC_DIR: dir };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** V8 gives freed pages back to the system on a background thread, after the collection itself. */
const UNMAP_WAIT_MS = 1000;
const COLLECT_TIMEOUT_MS = 60_000;

/**
 * Each server collects all its garbage; then their summed VmRSS and live V8 heap, in KiB.
 * `dir` is the one forcedGcEnv gave the servers.
 */
export async function collectedRss(pids: number[], dir: string): Promise<{ rssKiB: number; heapKiB: number }> {
  const files = pids.map((pid) => join(dir, String(pid)));
  for (const file of files) rmSync(file, { force: true });
  for (const pid of pids) process.kill(pid, 'SIGUSR2');
  const deadline = performance.now() + COLLECT_TIMEOUT_MS;
  while (!files.every((file) => existsSync(file))) {
    if (performance.now() > deadline) throw new Error(`servers did not report a forced collection within ${COLLECT_TIMEOUT_MS} ms (${dir})`);
    await sleep(20);
  }
  let heapKiB = 0;
  for (const file of files) {
    const report = JSON.parse(readFileSync(file, 'utf8')) as { heapUsed?: number; error?: string };
    if (report.heapUsed === undefined) throw new Error(`forced collection failed: ${report.error}`);
    heapKiB += report.heapUsed / 1024;
  }
  await sleep(UNMAP_WAIT_MS);
  return { rssKiB: pids.reduce((sum, pid) => sum + rssKiB(pid), 0), heapKiB };
}
