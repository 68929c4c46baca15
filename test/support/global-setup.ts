// Once per test run, before any test: fetches the real firmware fixtures (three esbuild
// releases, from the npm registry), so delta tests work on real build-to-build changes,
// and makes the delta of each fixture pair the tests package (DELTA_CACHE), so each pair is
// diffed once per machine instead of once per test that uploads it. Both are kept between
// runs; a fresh clone makes them here.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeltaPool } from '../../src/delta/pool.ts';
import { DELTA_CACHE, fixture, FIXTURE_PAIRS } from './harness.ts';

export default async function setup(): Promise<void> {
  execFileSync('bash', ['scripts/fetch-firmware.sh', '.fixtures/firmware'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const pool = new DeltaPool({ cacheDir: DELTA_CACHE });
  const scratch = await mkdtemp(join(tmpdir(), 'fota-deltas-'));
  try {
    await Promise.all(FIXTURE_PAIRS.map(([from, to]) => pool.diff(fixture(from), fixture(to), join(scratch, `${from}-${to}`))));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
