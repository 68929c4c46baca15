// Start-up benchmark: how fast the `fota` command starts and how much memory a server
// holds once it listens. Prints one JSON object:
//   help:   `node bin/fota.js --help`, median wall time of --runs runs (goal < 150 ms), and
//           the same with FOTA_FROM_SOURCE=1 (the sources through tsx, as before dist/);
//   serve:  `node bin/fota.js serve` on a fresh data directory, with the node flags of
//           `npm start` (startNodeFlags, read from package.json): time from spawn to its
//           "listening on" line, and its VmRSS (/proc/<pid>/status) at that moment, median
//           of --serve-runs starts (goal < 80 MiB); withoutStartFlags: the same RSS when
//           started without them (`npx fota serve`);
//   floor:  the same two figures for `node -e` doing nothing (wall time) and printing a line
//           then idling (RSS): what no Node program can go below on this machine;
//   from:   what bin/fota.js ran: "dist" (the build) or "source" (dist/ missing or stale,
//           in which case the figures are not the build's: run `npm run build` first).
// Runs alternate (help, floor, source help, ...) so a busy machine weighs on each alike.
// Run: npm run bench:startup [-- --runs 20 --serve-runs 5]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { rssKiB } from './proc.ts';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '20' }, 'serve-runs': { type: 'string', default: '5' } } });
const RUNS = Number(args.runs);
const SERVE_RUNS = Number(args['serve-runs']);
const BIN = resolve('bin/fota.js');
const GOALS = { helpMs: 150, serveRssMiB: 80 };
// Without FOTA_FROM_SOURCE, whatever the caller's environment says: this measures what a user runs.
const { FOTA_FROM_SOURCE: _ignored, ...userEnv } = process.env;
/** The node flags `npm start` gives the server (e.g. its young-generation size), from package.json. */
const START_NODE_FLAGS = ((JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts.start ?? '')
  .split(/\s+/)
  .filter((word) => word.startsWith('--'));

const round = (n: number, digits = 1) => Number(n.toFixed(digits));
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return round(sorted[sorted.length >> 1] ?? Number.NaN);
};

/** Wall time of one run to its exit, in ms; throws unless it exits 0. */
function timeRun(argv: string[], env: NodeJS.ProcessEnv = userEnv): { ms: number; stderr: string } {
  const started = performance.now();
  const run = spawnSync(process.execPath, argv, { env, encoding: 'utf8' });
  const ms = performance.now() - started;
  if (run.status !== 0) throw new Error(`${argv.join(' ')} exited ${run.status}: ${run.stderr}`);
  return { ms, stderr: run.stderr };
}

/** Spawns a process, waits for `ready` on its stdout; time to it and VmRSS then. */
async function timeToReady(argv: string[], ready: RegExp): Promise<{ ms: number; rssMiB: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, argv, { env: { ...userEnv, FOTA_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((done, fail) => {
      let out = '';
      child.stdout.on('data', (piece: Buffer) => {
        out += piece.toString();
        if (ready.test(out)) done();
      });
      child.once('exit', (code) => fail(new Error(`${argv.join(' ')} exited early (${code}): ${out}`)));
    });
    const ms = performance.now() - started;
    const pid = child.pid ?? 0;
    return { ms, rssMiB: rssKiB(pid) / 1024 };
  } finally {
    child.kill('SIGTERM');
    await new Promise((done) => (child.exitCode === null && child.signalCode === null ? child.once('exit', done) : done(null)));
  }
}

const from = timeRun([BIN, '--help']).stderr.includes('running from source') ? 'source' : 'dist';
const help: number[] = [];
const helpFromSource: number[] = [];
const floorMs: number[] = [];
for (let i = 0; i < RUNS; i++) {
  help.push(timeRun([BIN, '--help']).ms);
  floorMs.push(timeRun(['-e', '0']).ms);
  // Fewer of these: each costs a TypeScript compile of the CLI.
  if (i % 4 === 0) helpFromSource.push(timeRun([BIN, '--help'], { ...userEnv, FOTA_FROM_SOURCE: '1' }).ms);
}

const serve: Array<{ ms: number; rssMiB: number }> = [];
const plainServe: Array<{ ms: number; rssMiB: number }> = [];
const floor: Array<{ ms: number; rssMiB: number }> = [];
for (let i = 0; i < SERVE_RUNS; i++) {
  const dir = mkdtempSync(join(tmpdir(), 'fota-bench-startup-'));
  try {
    const argv = [BIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--data', join(dir, 'data'), '--artifacts', join(dir, 'artifacts')];
    serve.push(await timeToReady([...START_NODE_FLAGS, ...argv], /listening on/));
    rmSync(dir, { recursive: true, force: true });
    plainServe.push(await timeToReady(argv, /listening on/));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  floor.push(await timeToReady(['-e', 'console.log("listening on nothing"); setInterval(() => {}, 1000)'], /listening on/));
}

const helpMs = median(help);
const serveRssMiB = median(serve.map((s) => s.rssMiB));
console.log(
  JSON.stringify(
    {
      from,
      help: { medianMs: helpMs, runs: RUNS, goalMs: GOALS.helpMs, met: helpMs < GOALS.helpMs, fromSourceMedianMs: median(helpFromSource), fromSourceRuns: helpFromSource.length },
      serve: {
        timeToListenMs: median(serve.map((s) => s.ms)),
        rssMiB: serveRssMiB,
        runs: SERVE_RUNS,
        goalRssMiB: GOALS.serveRssMiB,
        met: serveRssMiB < GOALS.serveRssMiB,
        startNodeFlags: START_NODE_FLAGS,
        withoutStartFlags: { rssMiB: median(plainServe.map((s) => s.rssMiB)) },
      },
      floor: { nodeMs: median(floorMs), idleNodeRssMiB: median(floor.map((f) => f.rssMiB)), idleNodeTimeToLineMs: median(floor.map((f) => f.ms)) },
    },
    null,
    2,
  ),
);
