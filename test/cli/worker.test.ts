// `fota worker` and `fota serve --no-jobs` before anything starts: help and the options
// refused as usage errors. Running them is test/e2e/scale-out.test.ts.
import { describe, expect, it } from 'vitest';
import { fotaInProcess } from '../support/cli.ts';

describe('fota worker', () => {
  it('is listed in the main help and has its own', async () => {
    expect((await fotaInProcess(['--help'])).stdout).toMatch(/worker \[--port N\]/);
    const help = await fotaInProcess(['worker', '--help']);
    expect(help).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage: fota worker/) });
    expect(help.stdout).toContain('--no-jobs');
  });

  it.each([
    [['--port', '70000'], '--port must be at most 65535'],
    [['--port', 'http'], '--port must be a whole number >= 0'],
    [['--poll-ms', '0'], '--poll-ms must be a whole number >= 1'],
    [['--database', 'sqlite:///tmp/fota.db'], '--database must be a postgres:// or postgresql:// URL'],
    [['--bogus'], 'unknown option --bogus (--help lists the options)'],
  ])('refuses %j as a usage error (exit 2)', async (args, message) => {
    expect(await fotaInProcess(['worker', ...args])).toMatchObject({ code: 2, stderr: expect.stringContaining(message) });
  });
});

describe('fota serve --no-jobs', () => {
  it('is described in the help of serve', async () => {
    const help = await fotaInProcess(['serve', '--help']);
    expect(help.stdout).toMatch(/--no-jobs \(or FOTA_JOBS=off\) runs no package jobs here/);
  });
});
