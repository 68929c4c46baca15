// How `npm test` runs, chosen by measurement on the 2-core machine this is developed on
// (README "The tests" has the figures):
//
// - At least two workers. Vitest's default is one fewer than the cores, one on two cores,
//   yet most of a test file's time is spent waiting (child processes, sockets, timers):
//   a second worker fills those waits.
// - Test files share their worker's modules (isolate: false). With isolation every file
//   starts a fresh process and loads the server's modules again, which cost more than a
//   third of the whole run. src/ keeps no module-level state (CONVENTIONS 2) and each
//   file starts and stops its own servers, so nothing leaks from one file to the next.
//   A file that swaps modules (vi.mock, vi.doMock) needs a module graph of its own, or it
//   would get the modules an earlier file loaded unswapped: such files are found here
//   and run isolated.
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

const TESTS = 'test/**/*.test.ts';

/** Test files that replace modules, found by reading them, so a new one is never missed. */
function filesSwappingModules(): string[] {
  return (readdirSync('test', { recursive: true, encoding: 'utf8' }) as string[])
    .filter((name) => name.endsWith('.test.ts'))
    .map((name) => `test/${name}`)
    .filter((path) => /\bvi\.(mock|doMock)\(/.test(readFileSync(path, 'utf8')));
}

const isolated = filesSwappingModules();
/** Tests of the PostgreSQL store itself: nothing to run on SQLite. */
const POSTGRES_ONLY = ['test/store/postgres.test.ts', 'test/store/pg-direct.test.ts', 'test/e2e/cluster.test.ts', 'test/cli/db-postgres.test.ts'];
/** What runs on both stores: everything that reaches the database through a context. */
const ON_POSTGRES = [...POSTGRES_ONLY, 'test/store/leases.test.ts', 'test/store/people-migration.test.ts', 'test/store/one-active-migration.test.ts', 'test/store/scomo-one-open-migration.test.ts', 'test/store/stage-counts-migration.test.ts', 'test/metrics.test.ts', 'test/api/**/*.test.ts', 'test/dm/**/*.test.ts', 'test/campaigns/**/*.test.ts', 'test/deployments/**/*.test.ts', 'test/devices/**/*.test.ts', 'test/download/**/*.test.ts', 'test/packages/**/*.test.ts', 'test/artifacts/**/*.test.ts', 'test/health.test.ts', 'test/web/**/*.test.ts', 'test/cli/**/*.test.ts', 'test/webhooks/**/*.test.ts', 'test/audit/**/*.test.ts'];
// Real bsdiff runs on 10 MB images take seconds each on a 2-core machine.
const timeouts = { testTimeout: 120_000, hookTimeout: 120_000 };

export default defineConfig({
  test: {
    // Runs once per `npm test`, for both projects.
    globalSetup: ['test/support/global-setup.ts'],
    maxWorkers: Math.max(2, availableParallelism() - 1),
    projects: [
      { test: { name: 'shared', include: [TESTS], exclude: [...isolated, ...POSTGRES_ONLY], isolate: false, ...timeouts } },
      // The store-facing tests again, on a real PostgreSQL server this project starts.
      { test: { name: 'postgres', include: ON_POSTGRES, exclude: isolated, isolate: false, globalSetup: ['test/support/postgres-setup.ts'], ...timeouts } },
      ...(isolated.length > 0 ? [{ test: { name: 'isolated', include: isolated, isolate: true, ...timeouts } }] : []),
    ],
  },
});
