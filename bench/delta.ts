// Delta benchmark: our diff (bsdiff-node in the DeltaPool) against Debian's bsdiff CLI on
// the real esbuild fixture pairs, in the same run. Prints one JSON object:
//   pairs[]: wall time and peak memory of both, patch sizes, whether the bytes are identical,
//            and xz -9 of the full target for scale;
//   concurrent: the three pairs submitted at once to one pool vs the CLI one after another.
// Run: npm run bench:delta   (needs Debian's bsdiff and xz-utils; GNU time for CLI memory)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeltaPool } from '../src/delta/pool.ts';

const FIXTURES = '.fixtures/firmware';
const PAIRS = [
  ['0.24.0', '0.24.1'],
  ['0.24.0', '0.25.0'],
  ['0.24.1', '0.25.0'],
] as const;
const image = (v: string) => join(FIXTURES, `esbuild-${v}.bin`);

execFileSync('bash', ['scripts/fetch-firmware.sh', FIXTURES], { stdio: ['ignore', 'ignore', 'inherit'] });
for (const tool of ['bsdiff', 'xz']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`bench:delta needs ${tool}: apt-get install -y bsdiff xz-utils`);
    process.exit(2);
  }
}
const gnuTime = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const work = mkdtempSync(join(tmpdir(), 'fota-bench-'));

/**
 * Runs Debian's bsdiff; peak memory from GNU time when it is installed. `hugePages` runs it
 * with the same glibc tunable our pool gives its processes, so that advantage is visible.
 */
function runCli(from: string, to: string, out: string, hugePages = false) {
  const env = hugePages ? { ...process.env, GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' } : process.env;
  const started = performance.now();
  const result = gnuTime
    ? spawnSync(gnuTime, ['-f', '%M', 'bsdiff', image(from), image(to), out], { encoding: 'utf8', env })
    : spawnSync('bsdiff', [image(from), image(to), out], { encoding: 'utf8', env });
  const wallMs = performance.now() - started;
  if (result.status !== 0) throw new Error(`bsdiff failed: ${result.stderr}`);
  const kb = gnuTime ? Number(result.stderr.trim().split('\n').pop()) : Number.NaN;
  return { wallMs: Math.round(wallMs), peakRssMiB: Number.isFinite(kb) ? round(kb / 1024) : null };
}

function xzSize(path: string): number {
  return execFileSync('xz', ['-9', '-T1', '-c', path], { maxBuffer: 64 * 1024 * 1024 }).length;
}

const round = (n: number, digits = 1) => Number(n.toFixed(digits));

async function main() {
  const pool = new DeltaPool();
  const pairs = [];
  for (const [from, to] of PAIRS) {
    const cliOut = join(work, `cli-${from}-${to}`);
    const oursOut = join(work, `ours-${from}-${to}`);
    const cli = runCli(from, to, cliOut);
    const ours = await pool.diff(image(from), image(to), oursOut);
    const cliHugePages = runCli(from, to, join(work, 'cli-huge'), true);
    const oursWallMs = Math.round(ours.elapsedMs);
    pairs.push({
      from,
      to,
      targetBytes: statSync(image(to)).size,
      xz9TargetBytes: xzSize(image(to)),
      cli: { ...cli, patchBytes: statSync(cliOut).size },
      ours: { wallMs: oursWallMs, peakRssMiB: round(ours.maxRssBytes / 1024 / 1024), patchBytes: statSync(oursOut).size },
      identicalPatch: readFileSync(cliOut).equals(readFileSync(oursOut)),
      cliWithHugePagesWallMs: cliHugePages.wallMs,
      wallRatio: round(oursWallMs / cli.wallMs, 2),
      wallRatioVsCliWithHugePages: round(oursWallMs / cliHugePages.wallMs, 2),
    });
  }

  const cliSequentialMs = PAIRS.reduce((sum, [from, to]) => sum + runCli(from, to, join(work, 'seq')).wallMs, 0);
  const started = performance.now();
  await Promise.all(PAIRS.map(([from, to]) => pool.diff(image(from), image(to), join(work, `conc-${from}-${to}`))));
  const concurrentMs = Math.round(performance.now() - started);

  console.log(
    JSON.stringify(
      {
        benchmark: 'delta',
        cores: availableParallelism(),
        poolConcurrency: pool.concurrency,
        pairs,
        concurrent: { pairs: PAIRS.length, oursMs: concurrentMs, cliSequentialMs, ratio: round(concurrentMs / cliSequentialMs, 2) },
      },
      null,
      2,
    ),
  );
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => rmSync(work, { recursive: true, force: true }));
