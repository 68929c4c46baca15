// `fota db migrate` in this process: what it applies to a fresh and to a current
// database, and the database URLs it refuses before touching anything.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fotaInProcess } from '../support/cli.ts';
import { tempDir } from '../support/harness.ts';

describe('fota db migrate', () => {
  it('applies every migration to a new database, naming each, then finds nothing to do', async () => {
    const data = join(tempDir(), 'data');
    const first = await fotaInProcess(['db', 'migrate', '--data', data]);
    expect(first.code).toBe(0);
    const lines = first.stdout.trim().split('\n');
    expect(lines[0]).toBe('applied 0000_init');
    expect(lines.slice(0, -1).every((line) => /^applied \d{4}_\w+$/.test(line))).toBe(true);
    const applied = lines.length - 1;
    expect(lines.at(-1)).toBe(`${join(data, 'fota.db')}: applied ${applied} of ${applied} migrations`);
    const again = await fotaInProcess(['db', 'migrate', '--data', data]);
    expect(again).toMatchObject({ code: 0, stdout: `${join(data, 'fota.db')} is up to date (${applied} migrations)\n` });
  });

  it.each([
    [['--database', 'mysql://fota:s3cret@db/fota'], '--database must be a postgres:// or postgresql:// URL'],
    // Nothing listens on port 1: the server is unreachable.
    [['--database', 'postgres://fota:s3cret@127.0.0.1:1/fota'], 'cannot open the PostgreSQL database postgres://fota:***@127.0.0.1:1/fota'],
  ])('refuses %j (exit 2) without the password in the message and creates nothing', async (args, message) => {
    const data = join(tempDir(), 'data');
    const result = await fotaInProcess(['db', 'migrate', '--data', data, ...args]);
    expect(result).toMatchObject({ code: 2, stderr: expect.stringContaining(message) });
    expect(result.stderr).not.toContain('s3cret');
    expect(existsSync(join(data, 'fota.db'))).toBe(false);
  });

  it('has help, and refuses another db command as a usage error', async () => {
    expect(await fotaInProcess(['db', 'migrate', '--help'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage: fota db migrate/) });
    expect(await fotaInProcess(['db', 'drop'])).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown db command: drop') });
    expect((await fotaInProcess(['--help'])).stdout).toMatch(/db migrate \[--data DIR\]/);
  });
});
