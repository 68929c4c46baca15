// The store a store-facing test runs on: SQLite in a temp dir, or, in the `postgres` test
// project, a fresh database on the run's real PostgreSQL server. The same test file runs
// in both projects, so every query it exercises is checked on both dialects.
import { join } from 'node:path';
import { inject } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/store.ts';
import { afterThis, tempDirFor } from './harness.ts';
import { createDatabase } from './postgres.ts';

/** postgres://… of the run's PostgreSQL server in the `postgres` project, else undefined. */
export function postgresServer(): string | undefined {
  return inject('postgresUrl') || undefined;
}

/** A database URL of its own for a server or context a test starts, in the `postgres` project. */
export async function testDatabaseUrl(): Promise<string | undefined> {
  const server = postgresServer();
  return server === undefined ? undefined : createDatabase(server);
}

/** An empty store on this project's dialect, closed when the current test (or, from a beforeAll, the file) ends. */
export async function openTestStore(): Promise<Store> {
  const url = await testDatabaseUrl();
  const store = url === undefined ? openSqliteStore(join(tempDirFor('store', afterThis), 'data')) : await openPostgresStore(url);
  afterThis(() => store.close());
  return store;
}
