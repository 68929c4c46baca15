// The `fota` command line for packages and keys: help, key generation, verify, apply,
// inspect, usage errors (exit 2) and rejections (exit 1). The cases run `main` in this
// process (a new `fota` process costs up to a second of a core); the first describe runs
// the real command for what only the process shows: exit codes 0, 1 and 2, stdout and a
// one-line stderr.
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { fota as fotaProcess, fotaInProcess as fota } from '../support/cli.ts';
import { tempDir } from '../support/harness.ts';
import { makeTestPackage } from '../support/packages.ts';
import { generateKey, writeKeyFiles } from '../../src/signing/keys.ts';

describe('the real fota command', () => {
  it('exits 2 with its usage on stdout without a command, and 2 with one line on stderr for an unknown one', async () => {
    expect(await fotaProcess([])).toMatchObject({ code: 2, stdout: expect.stringMatching(/^Usage: fota/), stderr: '' });
    expect(await fotaProcess(['fly'])).toMatchObject({ code: 2, stdout: '', stderr: 'fota: unknown command: fly\n(see fota --help)\n' });
  });

  it('exits 0 for a package that verifies and 1 for a tampered one, naming FUMO 402 on one line of stderr', async () => {
    const pkg = await makeTestPackage(tempDir());
    const { publicPath } = await writeKeyFiles(join(pkg.dir, 'k.json'), pkg.key);
    expect(await fotaProcess(['package', 'verify', pkg.packagePath, '--pubkey', publicPath])).toMatchObject({ code: 0, stdout: expect.stringContaining(': OK'), stderr: '' });
    const bytes = await readFile(pkg.packagePath);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
    await writeFile(pkg.packagePath, bytes);
    const result = await fotaProcess(['package', 'verify', pkg.packagePath, '--pubkey', publicPath]);
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toMatch(/^[^\n]*: rejected, FUMO 402 corrupted firmware update package: payload chunk[^\n]*\n$/);
  });
});

describe('a busy port', () => {
  it('makes fota serve say so in one line naming --port, and exit 2 (not a stack trace, not 70)', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const { port } = taken.address() as AddressInfo;
    const dir = tempDir();
    const result = await fotaProcess(['serve', '--port', String(port), '--host', '127.0.0.1', '--data', join(dir, 'data'), '--artifacts', join(dir, 'artifacts')], { env: { FOTA_ADMIN_TOKEN: 'busy-port-admin-token-1234' } });
    expect(result).toMatchObject({ code: 2, stderr: `fota: port ${port} is already in use (another fota serve or demo?); choose another with --port N\n` });
  });
});

describe('fota command line', () => {
  it.each([[[]], [['--help']], [['keys', '--help']], [['package', '--help']], [['package', 'make', '--help']], [['package', 'inspect', '--help']], [['package', 'verify', '--help']], [['package', 'apply', '--help']], [['serve', '--help']]])(
    'prints help for %j',
    async (args) => {
      const result = await fota(args);
      expect(result.stdout).toMatch(/^Usage: fota/);
      expect(result.code).toBe(args.length === 0 ? 2 : 0);
    },
  );

  it('generates a key without printing the secret, and never overwrites one', async () => {
    const dir = tempDir();
    const result = await fota(['keys', 'generate', '--out', join(dir, 'k.json')]);
    expect(result.code).toBe(0);
    const key = JSON.parse(await readFile(join(dir, 'k.json'), 'utf8'));
    expect(result.stdout).toContain(`keyid: ${key.keyid}`);
    expect(result.stdout).toContain(key.publicKey);
    expect(result.stdout + result.stderr).not.toContain(key.secretKey);
    expect((await stat(join(dir, 'k.json'))).mode & 0o777).toBe(0o600);
    const again = await fota(['keys', 'generate', '--out', join(dir, 'k.json')]);
    expect(again).toMatchObject({ code: 2, stderr: expect.stringContaining('already exists') });
    expect(JSON.parse(await readFile(join(dir, 'k.json'), 'utf8')).keyid).toBe(key.keyid);
  });

  it('verifies a good package (exit 0) and rejects a tampered one naming FUMO 402 (exit 1)', async () => {
    const pkg = await makeTestPackage(tempDir());
    const { publicPath } = await writeKeyFiles(join(pkg.dir, 'k.json'), pkg.key);
    expect(await fota(['package', 'verify', pkg.packagePath, '--pubkey', publicPath])).toMatchObject({ code: 0, stdout: expect.stringContaining(': OK') });
    const bytes = await readFile(pkg.packagePath);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
    await writeFile(pkg.packagePath, bytes);
    const result = await fota(['package', 'verify', pkg.packagePath, '--pubkey', publicPath]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/rejected, FUMO 402 corrupted firmware update package: payload chunk/);
  });

  it('rejects a package for another model with 403 and leaves no output file', async () => {
    const pkg = await makeTestPackage(tempDir());
    const { publicPath } = await writeKeyFiles(join(pkg.dir, 'k.json'), pkg.key);
    const before = (await readdir(pkg.dir)).sort();
    const result = await fota(['package', 'apply', pkg.packagePath, '--base', pkg.oldPath, '--out', join(pkg.dir, 'new.img'), '--pubkey', publicPath, '--model', 'toaster']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/FUMO 403 .*for model router-x, this device is toaster/);
    expect((await readdir(pkg.dir)).sort()).toEqual(before);
  });

  it('inspects a package as JSON, and calls a non-package corrupted (exit 1)', async () => {
    const pkg = await makeTestPackage(tempDir());
    const inspected = await fota(['package', 'inspect', pkg.packagePath]);
    expect(inspected.code).toBe(0);
    expect(JSON.parse(inspected.stdout)).toMatchObject({ signed: { model: 'router-x', target: { version: '2.0' } }, signatures: [{ keyid: pkg.key.keyid }] });
    const other = await fota(['package', 'inspect', pkg.oldPath]);
    expect(other).toMatchObject({ code: 1, stderr: expect.stringMatching(/FUMO 402 .*no FOTA1 magic/) });
  });

  it.each([
    ['an unknown command', ['fly'], /unknown command: fly/],
    ['an unknown option', ['package', 'verify', 'p.fota', '--pubkey', 'k', '--colour'], /^fota: unknown option --colour \(--help lists the options\)$/m],
    ['a misspelt option', ['package', 'verify', 'p.fota', '--pubky', 'k'], /^fota: unknown option --pubky; did you mean --pubkey\?$/m],
    ['an option without its value', ['package', 'verify', 'p.fota', '--pubkey'], /^fota: --pubkey needs a value$/m],
    ['a missing option', ['package', 'make', '--to', 'x'], /missing --to-version/],
    ['--from without --from-version', ['package', 'make', '--from', 'a', '--to', 'b'], /--from and --from-version go together/],
    ['a bad ratio', ['package', 'make', '--to', 'b', '--max-delta-ratio', '7'], /--max-delta-ratio must be/],
    ['a bad security version', ['package', 'apply', 'p', '--out', 'o', '--pubkey', 'k', '--security-version=-1'], /--security-version must be a whole number/],
  ])('treats %s as a usage error (exit 2)', async (_name, args, message) => {
    const result = await fota(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('takes --pubkey as a key file or as the key list the server serves, and refuses a list whose keys are revoked or broken', async () => {
    const pkg = await makeTestPackage(tempDir());
    const { publicPath } = await writeKeyFiles(join(pkg.dir, 'k.json'), pkg.key);
    const other = generateKey();
    const listed = (key: { keyid: string; publicKey: Uint8Array }, status: string) => ({ keyid: key.keyid, publicKey: Buffer.from(key.publicKey).toString('base64'), status });
    // The shape of GET /api/v1/manufacturers/:name/keys.
    const list = join(pkg.dir, 'keys.json');
    await writeFile(list, JSON.stringify([listed(other, 'active'), listed(pkg.key, 'active')]));
    expect(await fota(['package', 'verify', pkg.packagePath, '--pubkey', list])).toMatchObject({ code: 0, stdout: expect.stringContaining(': OK') });
    // Both formats together; the signing key is listed twice and counts once.
    expect(await fota(['package', 'verify', pkg.packagePath, '--pubkey', list, '--pubkey', publicPath, '--threshold', '2'])).toMatchObject({ code: 1, stderr: expect.stringMatching(/FUMO 404/) });
    const out = join(pkg.dir, 'applied.bin');
    expect(await fota(['package', 'apply', pkg.packagePath, '--base', pkg.oldPath, '--out', out, '--pubkey', list])).toMatchObject({ code: 0 });

    // The signing key revoked in the list: it counts for nothing (FUMO 404), whatever the other file says.
    const revoked = join(pkg.dir, 'revoked.json');
    await writeFile(revoked, JSON.stringify([listed(other, 'active'), listed(pkg.key, 'revoked')]));
    expect(await fota(['package', 'verify', pkg.packagePath, '--pubkey', revoked])).toMatchObject({ code: 1, stderr: expect.stringMatching(/FUMO 404/) });
    expect(await fota(['package', 'verify', pkg.packagePath, '--pubkey', revoked, '--pubkey', publicPath])).toMatchObject({ code: 1, stderr: expect.stringMatching(/FUMO 404/) });

    const hostile: Array<[string, string, RegExp]> = [
      ['only-revoked.json', JSON.stringify([listed(pkg.key, 'revoked')]), /has no key that is not revoked/],
      ['mislabelled.json', JSON.stringify([{ ...listed(pkg.key, 'active'), keyid: other.keyid }]), /does not match its keyid/],
      ['not-a-list.json', '[1, 2', /is not JSON/],
      ['wrong-shape.json', JSON.stringify([{ keyid: 'x' }]), /pinned key list .*wrong-shape\.json: 0\.keyid/],
      ['huge.json', `[${' '.repeat(70 * 1024)}]`, /is \d+ bytes; a key file or key list is under 64 KiB/],
      ['too-many.json', JSON.stringify(Array.from({ length: 65 }, () => listed(other, 'active'))), /pinned key list/],
    ];
    for (const [name, text, message] of hostile) {
      await writeFile(join(pkg.dir, name), text);
      const result = await fota(['package', 'verify', pkg.packagePath, '--pubkey', join(pkg.dir, name)]);
      expect(result, name).toMatchObject({ code: 2, stdout: '' });
      expect(result.stderr, name).toMatch(message);
      expect(result.stderr.trim().split('\n'), name).toHaveLength(1);
    }
  });

  it('gives one clear line for unreadable inputs and leaves no partial package', async () => {
    const dir = tempDir();
    await fota(['keys', 'generate', '--out', join(dir, 'k.json')]);
    await mkdir(join(dir, 'adir'));
    await writeFile(join(dir, 'img'), 'image');
    const make = (extra: string[]) => fota(['package', 'make', '--to-version', '2', '--model', 'm', '--out', join(dir, 'p.fota'), ...extra]);

    const missing = await make(['--to', join(dir, 'nope'), '--key', join(dir, 'k.json')]);
    expect(missing).toMatchObject({ code: 2, stderr: expect.stringMatching(/^fota: cannot read image .*nope: no such file\n$/) });
    const directory = await make(['--to', join(dir, 'adir'), '--key', join(dir, 'k.json')]);
    expect(directory).toMatchObject({ code: 2, stderr: expect.stringMatching(/adir is a directory/) });

    await chmod(join(dir, 'k.json'), 0o640);
    const openKey = await make(['--to', join(dir, 'img'), '--key', join(dir, 'k.json')]);
    expect(openKey).toMatchObject({ code: 2, stderr: expect.stringMatching(/mode 0640.*chmod 600/) });
    await writeFile(join(dir, 'bad.json'), '{"type":"ed25519"}', { mode: 0o600 });
    const badKey = await make(['--to', join(dir, 'img'), '--key', join(dir, 'bad.json')]);
    expect(badKey).toMatchObject({ code: 2, stderr: expect.stringMatching(/key file .*bad.json: keyid/) });

    expect((await readdir(dir)).sort()).toEqual(['adir', 'bad.json', 'img', 'k.json', 'k.pub.json']);
  });

  it('falls back to a full image when the delta is not worth it, and says so', async () => {
    const pkg = await makeTestPackage(tempDir());
    await writeKeyFiles(join(pkg.dir, 'k.json'), pkg.key);
    const result = await fota([
      'package', 'make', '--from', pkg.oldPath, '--from-version', '1.0', '--to', pkg.newPath, '--to-version', '2.0',
      '--model', 'router-x', '--key', join(pkg.dir, 'k.json'), '--out', join(pkg.dir, 'tiny.fota'), '--max-delta-ratio', '0.0001',
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/exceeds 0.0001 of the image; packaged the full image instead/);
    expect(result.stdout).toMatch(/full 2.0 \(full, \d+ bytes\)/);
  });
});
