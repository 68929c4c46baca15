// Tests of a migration that fixes existing data: the store is migrated with the committed
// migrations up to just before the one under test, given rows that break its rule, then
// opened as a server opens it (which runs the rest). On PostgreSQL when the test project
// has a database, else on SQLite in a temporary directory.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle as sqliteDrizzle } from 'drizzle-orm/better-sqlite3';
import { migrate as sqliteMigrate } from 'drizzle-orm/better-sqlite3/migrator';
import { drizzle as pgDrizzle } from 'drizzle-orm/node-postgres';
import { migrate as pgMigrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { afterAll, expect } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { DATABASE_FILE, openSqliteStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/store.ts';
import { tempDirFor } from './harness.ts';
import { testDatabaseUrl } from './store.ts';

/** A copy of the dialect's migrations that stops before the one tagged `*_<tag>`. */
function migrationsBefore(folder: 'migrations' | 'migrations-pg', tag: string): string {
  const copy = join(tempDirFor('migrations', afterAll), folder);
  cpSync(fileURLToPath(new URL(`../../src/store/${folder}`, import.meta.url)), copy, { recursive: true });
  const journalFile = join(copy, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: Array<{ tag: string }> };
  const at = journal.entries.findIndex((e) => e.tag.endsWith(`_${tag}`));
  expect(at, `a migration tagged *_${tag}`).toBeGreaterThan(0);
  writeFileSync(journalFile, JSON.stringify({ ...journal, entries: journal.entries.slice(0, at) }));
  return copy;
}

/** A store migrated up to just before `tag`, given `inserts`, then opened (closed after the file's tests). */
export async function openMigratedFromBefore(tag: string, inserts: readonly string[]): Promise<Store> {
  const url = await testDatabaseUrl();
  if (url === undefined) {
    const dir = join(tempDirFor(`${tag}-migration`, afterAll), 'data');
    mkdirSync(dir, { recursive: true });
    const old = new Database(join(dir, DATABASE_FILE));
    sqliteMigrate(sqliteDrizzle(old), { migrationsFolder: migrationsBefore('migrations', tag) });
    for (const statement of inserts) old.prepare(statement).run();
    old.close();
    const store = openSqliteStore(dir);
    afterAll(() => store.close());
    return store;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await pgMigrate(pgDrizzle(client), { migrationsFolder: migrationsBefore('migrations-pg', tag) });
    for (const statement of inserts) await client.query(statement);
  } finally {
    await client.end();
  }
  const store = await openPostgresStore(url);
  afterAll(() => store.close());
  return store;
}
