// Fetches the real firmware fixtures (three esbuild releases, from the npm registry) once
// per test run, so delta tests work on real build-to-build changes.
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync('bash', ['scripts/fetch-firmware.sh', '.fixtures/firmware'], { stdio: ['ignore', 'ignore', 'inherit'] });
}
