// Global setup of the `postgres` test project: one real PostgreSQL server for the run
// (test/support/postgres.ts), whose URL the test files receive through vitest's
// provide/inject; each server or API context a test starts gets a database of its own.
// Without Debian's postgresql the project is skipped with the line to install it, except
// under CI=true, where that is a failure.
import type { TestProject } from 'vitest/node';
import { POSTGRES_PACKAGE, postgresBinDir, startPostgres } from './postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** postgres://… of the run's server ('' when the store tests run on SQLite only). */
    postgresUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<(() => void) | undefined> {
  const bin = postgresBinDir();
  if (bin === undefined) {
    const install = `apt-get install -y ${POSTGRES_PACKAGE}`;
    if (process.env.CI === 'true') throw new Error(`PostgreSQL is missing in CI: ${install}`);
    console.warn(`skipping the store tests on PostgreSQL: initdb/pg_ctl not found (${install})`);
    project.provide('postgresUrl', '');
    return undefined;
  }
  const server = await startPostgres(bin);
  project.provide('postgresUrl', server.url);
  return () => server.stop();
}
