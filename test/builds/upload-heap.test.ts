// The old generation given room while an upload streams in (src/builds/upload-heap.ts):
// while held, promoted garbage is collected in a few full collections, not one every few
// MB; holds of concurrent uploads are shared, so one ending leaves the others' room; a
// growing factor the user gave node is theirs. Each case runs in a fresh node process, its
// young generation capped at 1 MB so that the same work promotes the same garbage, and
// counts V8's full collections (perf_hooks 'gc' entries of kind major).
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Runs `script` (with `roomForUpload` and `promote` in scope) in a new node process; the full collections during `promote()` calls. */
function majorCollections(script: string, nodeArgs: string[] = []): number {
  const module = resolve('src/builds/upload-heap.ts');
  const source = `
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { roomForUpload } from ${JSON.stringify(module)};
let majors = 0;
let counting = false;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (counting && entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors += 1;
}).observe({ entryTypes: ['gc'] });
// About 20 MB that stays, as the server's modules, statements and caches do.
const live = Array.from({ length: 300_000 }, (_, i) => ({ i, s: 'live' + i }));
// About 130 MB of objects that outlive two young collections, then die: promoted garbage,
// as the socket chunks an upload holds until they are written.
const promote = async () => {
  counting = true;
  const ring = new Array(20_000);
  for (let i = 0; i < 2_000_000; i++) ring[i % ring.length] = { i, a: [i, i + 1, i + 2] };
  // Entries are delivered after the collection, asynchronously.
  await new Promise((done) => setTimeout(done, 20));
  counting = false;
};
${script}
console.log(JSON.stringify({ majors, live: live.length }));`;
  const run = spawnSync(process.execPath, ['--max-semi-space-size=1', ...nodeArgs, '--import', 'tsx', '--input-type=module', '-e', source], { encoding: 'utf8' });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return (JSON.parse(run.stdout) as { majors: number }).majors;
}

/** A factor far below V8's own (1.1x), given to node as a user would: every few MB of garbage is a full collection. */
const TIGHT = ['--heap-growing-percent=10'];

describe('roomForUpload', () => {
  it('collects the garbage an upload promotes in a few full collections while it is held', () => {
    expect(majorCollections(`const back = roomForUpload([]); await promote(); back();`, TIGHT)).toBeLessThanOrEqual(5);
  });

  it('keeps the room while another upload holds it, whichever ends first', () => {
    // The first upload ends (twice: the second call does nothing) while the second goes on.
    const script = `const first = roomForUpload([]); const second = roomForUpload([]); first(); first(); await promote(); second();`;
    expect(majorCollections(script, TIGHT)).toBeLessThanOrEqual(5);
  });

  it("leaves a growing factor given to node alone", () => {
    // What the tight factor costs the same work, held or not: the user's choice holds.
    expect(majorCollections(`const back = roomForUpload(); await promote(); back();`, TIGHT)).toBeGreaterThan(10);
  });
});
