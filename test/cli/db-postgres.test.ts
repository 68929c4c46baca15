// `fota db migrate --database` against the run's real PostgreSQL server (the `postgres`
// test project only): what it applies to a fresh database, then nothing.
import { describe, expect, it } from 'vitest';
import { fotaInProcess } from '../support/cli.ts';
import { postgresServer, testDatabaseUrl } from '../support/store.ts';

// Without Debian's postgresql the project's setup says so and skips (in CI it fails instead).
describe.skipIf(postgresServer() === undefined)('fota db migrate on PostgreSQL', () => {
  it('migrates a PostgreSQL database, naming each migration, then finds nothing to do', async () => {
    const url = (await testDatabaseUrl()) ?? '';
    const first = await fotaInProcess(['db', 'migrate', '--database', url]);
    expect(first.code).toBe(0);
    const lines = first.stdout.trim().split('\n');
    expect(lines[0]).toBe('applied 0000_init');
    const applied = lines.length - 1;
    expect(lines.at(-1)).toBe(`${url}: applied ${applied} of ${applied} migrations`);
    expect(await fotaInProcess(['db', 'migrate', '--database', url])).toMatchObject({ code: 0, stdout: `${url} is up to date (${applied} migrations)\n` });
  });
});
