// Shared test helpers: temp dirs cleaned after each test, deterministic images with
// realistic edits, the firmware fixtures, and Debian tools that CI must have.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, onTestFinished } from 'vitest';

export const FIXTURES = resolve('.fixtures/firmware');
export type FixtureVersion = '0.24.0' | '0.24.1' | '0.25.0';
export const fixture = (version: FixtureVersion) => join(FIXTURES, `esbuild-${version}.bin`);
/** Every (old, new) pair of the fixtures some test packages: the server diffs each of these. */
export const FIXTURE_PAIRS: ReadonlyArray<readonly [FixtureVersion, FixtureVersion]> = [
  ['0.24.0', '0.24.1'],
  ['0.24.0', '0.25.0'],
  ['0.24.1', '0.25.0'],
];
/**
 * Deltas of the fixtures by content (DeltaPool's cache; the global setup makes any that
 * are missing). A diff of two 10 MB images costs seconds of a core; tests that need a
 * package of the fixtures but are not about the diff hand this to their server
 * (`deltaCacheDir`, FOTA_DELTA_CACHE, `fota demo --delta-cache`). Tests of the diff itself
 * (test/e2e/firmware-fixtures.test.ts, test/delta) never use it.
 */
export const DELTA_CACHE = resolve('.fixtures/deltas');

export function tempDir(): string {
  return tempDirFor('test', onTestFinished);
}

/**
 * Runs `fn` when the current test ends if called inside a test, else after the file's (or
 * describe's) tests. An `afterAll` registered inside a test never runs: a server or store
 * started in a test and closed that way stayed open for the rest of the worker's life,
 * polling and committing in a folder its test had removed, and holding its PostgreSQL pool.
 */
export function afterThis(fn: () => Promise<void> | void): void {
  try {
    onTestFinished(fn);
  } catch {
    // Not inside a test (a beforeAll, a describe body): vitest refuses onTestFinished there.
    afterAll(fn);
  }
}

/** A temp dir removed by the given hook (onTestFinished, afterAll). */
export function tempDirFor(label: string, cleanup: (fn: () => void) => void): string {
  const dir = mkdtempSync(join(tmpdir(), `fota-${label}-`));
  cleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Deterministic pseudo-random bytes (a counter-mode SHA-256 stream). */
export function pseudoRandom(size: number, seed = 'seed'): Buffer {
  const out = Buffer.alloc(size);
  for (let offset = 0, n = 0; offset < size; n += 1) {
    offset += createHash('sha256').update(`${seed}:${n}`).digest().copy(out, offset);
  }
  return out;
}

/** A "next build": the image with a few bytes changed here and there and some inserted. */
export function nextBuild(image: Buffer, seed = 'next'): Buffer {
  const edited = Buffer.from(image);
  for (let at = 1000; at < edited.length; at += 37_001) edited[at] = (edited[at] ?? 0) ^ 0xff;
  return Buffer.concat([edited.subarray(0, 5000), pseudoRandom(300, seed), edited.subarray(5000)]);
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Returns whether a Debian tool is on PATH. Under CI it must be (the test fails);
 * elsewhere the caller skips, and the printed line says what to install.
 */
export function hasTool(tool: string, debianPackage: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error(`${tool} is missing in CI: apt-get install -y ${debianPackage}`);
    console.warn(`skipping: ${tool} not found (apt-get install -y ${debianPackage})`);
    return false;
  }
}

/** The SyncML sample messages of a whole FUMO flow (copied from shared/protocol-samples). */
export const SYNCML_SAMPLES = resolve('test/fixtures/syncml');
