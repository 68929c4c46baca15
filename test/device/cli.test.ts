// `fota device run` options, decided before any request is sent (run in this process);
// the command's real runs against a server are in test/e2e/fumo.test.ts.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateKey, publicKeyFile } from '../../src/signing/keys.ts';
import { fotaInProcess } from '../support/cli.ts';
import { tempDir } from '../support/harness.ts';

const run = (args: string[]) => fotaInProcess(args);

describe('fota device', () => {
  it('prints its usage for --help and is listed in the main help', async () => {
    expect(await run(['device', 'run', '--help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('Usage: fota device run --server URL --id DEVID') });
    expect((await run(['--help'])).stdout).toContain('device run --server URL');
  });

  it.each([
    [['device'], 'missing subcommand'],
    [['device', 'fly'], 'unknown subcommand: device fly'],
    [['device', 'run', '--id', 'd1'], 'missing --server URL'],
    [['device', 'run', '--server', 'ftp://x', '--id', 'd1'], '--server must be an http:// or https:// URL'],
    [['device', 'run', '--server', 'http://localhost:1', '--id', 'd1', '--poll', '0', '--pubkey', 'k'], '--poll must be a whole number >= 1'],
    [['device', 'run', '--server', 'http://localhost:1', '--bogus'], 'unknown option --bogus (--help lists the options)'],
  ])('refuses %j as a usage error (exit 2)', async (args, message) => {
    const result = await run(args);
    expect(result).toMatchObject({ code: 2, stderr: expect.stringContaining(message) });
  });

  it('needs an image and a version on the first start, and says so', async () => {
    const dir = tempDir();
    await writeFile(join(dir, 'k.pub.json'), JSON.stringify(publicKeyFile(generateKey())));
    const result = await run(['device', 'run', '--once', '--server', 'http://127.0.0.1:1', '--id', 'd1', '--model', 'm', '--username', 'u', '--password', 'p', '--pubkey', join(dir, 'k.pub.json'), '--data', join(dir, 'data')]);
    expect(result).toMatchObject({ code: 2, stderr: expect.stringContaining('holds no installed image yet') });
  });

  it('refuses a pinned key file whose keyid does not match its key', async () => {
    const dir = tempDir();
    const key = publicKeyFile(generateKey());
    await writeFile(join(dir, 'keys.json'), JSON.stringify([{ ...key, keyid: publicKeyFile(generateKey()).keyid, status: 'active' }]));
    const result = await run(['device', 'run', '--once', '--server', 'http://127.0.0.1:1', '--id', 'd1', '--model', 'm', '--username', 'u', '--password', 'p', '--pubkey', join(dir, 'keys.json')]);
    expect(result).toMatchObject({ code: 2, stderr: expect.stringContaining('does not match its keyid') });
  });

  it('exits 2 with one line when the server cannot be reached', async () => {
    const dir = tempDir();
    await writeFile(join(dir, 'k.pub.json'), JSON.stringify(publicKeyFile(generateKey())));
    await writeFile(join(dir, 'img.bin'), 'image');
    const result = await run(['device', 'run', '--once', '--server', 'http://127.0.0.1:1', '--id', 'd1', '--model', 'm', '--username', 'u', '--password', 'p', '--pubkey', join(dir, 'k.pub.json'), '--data', join(dir, 'data'), '--image', join(dir, 'img.bin'), '--version', '1.0']);
    expect(result).toMatchObject({ code: 2, stderr: expect.stringMatching(/^installed .*\nfota: cannot reach http:\/\/127\.0\.0\.1:1\/dm \(ECONNREFUSED\)\n$/) });
  });
});
