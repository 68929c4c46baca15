// Which code a benchmark's `fota serve` runs: by default what `npm start` runs, the tsc
// build in dist/ (built here first, not timed; the build's output goes to stderr, stdout
// carries the bench's JSON); with --from-source the sources through tsx, as the tests run
// them. tsx keeps function names (a helper call per closure made) and loads through its
// hooks, and its compiler sits in the server's memory: production pays neither.
import { execFileSync } from 'node:child_process';

export interface ServerBuild {
  /** Environment for spawnServe (test/support/serve-process.ts runs the sources by default). */
  env: Record<string, string>;
  /** What the bench's JSON says the server ran. */
  label: string;
}

export function serverBuild(fromSource: boolean): ServerBuild {
  if (fromSource) return { env: {}, label: 'src/ through tsx (FOTA_FROM_SOURCE=1)' };
  // bin/fota.js runs the sources instead (saying so on stderr) if one of them changes after this.
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: ['ignore', 2, 2] });
  return { env: { FOTA_FROM_SOURCE: '0' }, label: 'dist/ (the tsc build npm start runs)' };
}
