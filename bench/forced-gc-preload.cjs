// Loaded into a benchmark's server with --require (bench/forced-gc.ts): on SIGUSR2 the
// server's main thread collects all its garbage, as DevTools' "Collect garbage" does
// (HeapProfiler.collectGarbage through an in-process inspector session: V8's
// CollectAllAvailableGarbage, several mark-compacts that also shrink the young generation
// and give freed pages back), then writes its live heap to $FOTA_BENCH_FORCED_GC_DIR/<pid>.
// Nothing else changes in the server: no port opened, no session kept between signals.
'use strict';
const { isMainThread } = require('node:worker_threads');

if (isMainThread && process.env.FOTA_BENCH_FORCED_GC_DIR) {
  const { Session } = require('node:inspector');
  const { writeFileSync } = require('node:fs');
  const { join } = require('node:path');
  const { getHeapStatistics } = require('node:v8');
  const done = join(process.env.FOTA_BENCH_FORCED_GC_DIR, String(process.pid));
  process.on('SIGUSR2', () => {
    const session = new Session();
    session.connect();
    session.post('HeapProfiler.collectGarbage', (err) => {
      writeFileSync(done, JSON.stringify(err ? { error: String(err) } : { heapUsed: getHeapStatistics().used_heap_size }));
      // Not from inside the callback: node 20 deadlocks there.
      setImmediate(() => session.disconnect());
    });
  });
}
