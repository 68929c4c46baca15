// The must-show of the package format on real firmware-like images (esbuild releases):
// our deltas are standard BSDIFF40 (Debian's bspatch applies them byte-exactly, and they
// are the same bytes Debian's bsdiff makes) and `fota package apply` installs them. The
// diff is the subject here, so it runs for real every time (never from the delta cache):
// each pair is packaged once by `fota package make`, and every check reads that package.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFotaFile } from '../../src/packages/fota-file.ts';
import { fota } from '../support/cli.ts';
import { fixture, type FixtureVersion, hasTool, tempDir, tempDirFor } from '../support/harness.ts';

const run = promisify(execFile);
const bspatch = hasTool('bspatch', 'bsdiff');
const bsdiff = hasTool('bsdiff', 'bsdiff');

interface Made {
  dir: string;
  pkg: string;
  /** What `fota package make` printed and exited with. */
  made: { code: number; stdout: string; stderr: string };
  /** The package's payload: the delta as our diff wrote it. */
  payload: Buffer;
}

const packages = new Map<string, Promise<Made>>();

/** The signed delta package of one pair, made the first time a test asks for it. */
function packageOf(from: FixtureVersion, to: FixtureVersion): Promise<Made> {
  const key = `${from}->${to}`;
  let made = packages.get(key);
  if (!made) {
    made = (async () => {
      const dir = tempDirFor('fixture-package', afterAll);
      const key = await fota(['keys', 'generate', '--out', join(dir, 'k.json')]);
      if (key.code !== 0) throw new Error(`fota keys generate failed (${key.code}): ${key.stderr}`);
      const pkg = join(dir, 'p.fota');
      const result = await fota([
        'package', 'make', '--from', fixture(from), '--from-version', from, '--to', fixture(to), '--to-version', to,
        '--model', 'esbuild-linux-x64', '--key', join(dir, 'k.json'), '--out', pkg,
      ]);
      const payload = result.code === 0 ? (await readFile(pkg)).subarray((await readFotaFile(pkg)).payloadOffset) : Buffer.alloc(0);
      return { dir, pkg, made: result, payload };
    })();
    // Handled here so a failure waits for the test that reads it instead of surfacing
    // as an unhandled rejection first; that test still sees it.
    made.catch(() => undefined);
    packages.set(key, made);
  }
  return made;
}

/** Debian's bsdiff of the pair the byte comparison uses. */
let debianDiff: Promise<string> | undefined;
function debianDelta(): Promise<string> {
  if (!debianDiff) {
    const out = join(tempDirFor('debian-bsdiff', afterAll), 'debian');
    debianDiff = run('bsdiff', [fixture('0.24.0'), fixture('0.24.1'), out]).then(() => out);
    debianDiff.catch(() => undefined);
  }
  return debianDiff;
}

// The diffs (ours of each pair, Debian's of one) take seconds of a core each and need
// nothing of one another: they start together, and each test waits for the ones it reads.
beforeAll(() => {
  void packageOf('0.24.0', '0.24.1');
  void packageOf('0.24.0', '0.25.0');
  if (bsdiff) void debianDelta();
});

describe.each([
  ['0.24.0', '0.24.1'],
  ['0.24.0', '0.25.0'],
] as const)('esbuild %s -> %s', (from, to) => {
  it('makes a signed delta well under a tenth of the image that fota package apply turns into the exact target', async () => {
    const { dir, pkg, made, payload } = await packageOf(from, to);
    expect(made.stderr).toContain(`diffing ${from} -> ${to}`);
    expect(made).toMatchObject({ code: 0, stdout: expect.stringContaining('bsdiff40') });
    const target = await readFile(fixture(to));
    // A delta worth sending: well under a tenth of the image for these releases.
    expect(payload.length).toBeLessThan(target.length / 10);
    expect((await readFotaFile(pkg)).payloadSize).toBe(payload.length);

    const out = join(tempDir(), 'by-fota.bin');
    const applied = await fota(['package', 'apply', pkg, '--base', fixture(from), '--out', out, '--pubkey', join(dir, 'k.pub.json'), '--model', 'esbuild-linux-x64']);
    expect(applied).toMatchObject({ code: 0, stdout: expect.stringContaining(`wrote ${out}`) });
    expect((await readFile(out)).equals(target)).toBe(true);
  });

  it.skipIf(!bspatch)('makes a delta that Debian bspatch turns into the exact target', async () => {
    const { made, payload } = await packageOf(from, to);
    expect(made.code).toBe(0);
    const dir = tempDir();
    await writeFile(join(dir, 'payload.bsdiff'), payload);
    await run('bspatch', [fixture(from), join(dir, 'by-bspatch.bin'), join(dir, 'payload.bsdiff')]);
    expect((await readFile(join(dir, 'by-bspatch.bin'))).equals(await readFile(fixture(to)))).toBe(true);
  });
});

describe('patch bytes', () => {
  it.skipIf(!bsdiff)('are identical to what Debian bsdiff makes for the same pair', async () => {
    const [ours, debian] = await Promise.all([packageOf('0.24.0', '0.24.1'), debianDelta()]);
    expect(ours.made.code).toBe(0);
    expect(ours.payload.equals(await readFile(debian))).toBe(true);
  });
});
