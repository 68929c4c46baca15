// The must-show of the package format on real firmware-like images (esbuild releases):
// our deltas are standard BSDIFF40 (Debian's bspatch applies them byte-exactly, and they
// are the same bytes Debian's bsdiff makes) and `fota package apply` installs them.
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeltaPool } from '../../src/delta/pool.ts';
import { readFotaFile } from '../../src/packages/fota-file.ts';
import { fota } from '../support/cli.ts';
import { fixture, hasTool, tempDir } from '../support/harness.ts';

const pairs = [
  ['0.24.0', '0.24.1'],
  ['0.24.0', '0.25.0'],
] as const;

describe.each(pairs)('esbuild %s -> %s', (from, to) => {
  it('makes a signed delta that Debian bspatch and fota package apply both turn into the exact target', async () => {
    const dir = tempDir();
    expect((await fota(['keys', 'generate', '--out', join(dir, 'k.json')])).code).toBe(0);
    const pkg = join(dir, 'p.fota');
    const made = await fota([
      'package', 'make', '--from', fixture(from), '--from-version', from, '--to', fixture(to), '--to-version', to,
      '--model', 'esbuild-linux-x64', '--key', join(dir, 'k.json'), '--out', pkg,
    ]);
    expect(made.stderr).toContain(`diffing ${from} -> ${to}`);
    expect(made).toMatchObject({ code: 0, stdout: expect.stringContaining('bsdiff40') });

    const file = await readFotaFile(pkg);
    const bytes = await readFile(pkg);
    const target = await readFile(fixture(to));
    // A delta worth sending: well under a tenth of the image for these releases.
    expect(file.payloadSize).toBeLessThan(target.length / 10);

    if (hasTool('bspatch', 'bsdiff')) {
      const payloadPath = join(dir, 'payload.bsdiff');
      await writeFile(payloadPath, bytes.subarray(file.payloadOffset));
      execFileSync('bspatch', [fixture(from), join(dir, 'by-bspatch.bin'), payloadPath]);
      expect((await readFile(join(dir, 'by-bspatch.bin'))).equals(target)).toBe(true);
    }

    const applied = await fota(['package', 'apply', pkg, '--base', fixture(from), '--out', join(dir, 'by-fota.bin'), '--pubkey', join(dir, 'k.pub.json'), '--model', 'esbuild-linux-x64']);
    expect(applied).toMatchObject({ code: 0, stdout: expect.stringContaining(`wrote ${join(dir, 'by-fota.bin')}`) });
    expect((await readFile(join(dir, 'by-fota.bin'))).equals(target)).toBe(true);
  });
});

describe('patch bytes', () => {
  it('are identical to what Debian bsdiff makes for the same pair', async () => {
    if (!hasTool('bsdiff', 'bsdiff')) return;
    const dir = tempDir();
    await new DeltaPool().diff(fixture('0.24.0'), fixture('0.24.1'), join(dir, 'ours'));
    execFileSync('bsdiff', [fixture('0.24.0'), fixture('0.24.1'), join(dir, 'debian')]);
    expect((await readFile(join(dir, 'ours'))).equals(await readFile(join(dir, 'debian')))).toBe(true);
  });
});
