// The migration to people, on a database that has tokens and audit events from before:
// every such token becomes a person of its own (so nothing that worked stops working,
// and two tokens that share a name are two people), it still authenticates, and the
// audit log names the person and keeps the token. Runs on SQLite and, in the postgres
// project, on PostgreSQL: the database is migrated up to just before people with the
// committed migrations, filled, then opened as a server opens it.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle as sqliteDrizzle } from 'drizzle-orm/better-sqlite3';
import { migrate as sqliteMigrate } from 'drizzle-orm/better-sqlite3/migrator';
import { drizzle as pgDrizzle } from 'drizzle-orm/node-postgres';
import { migrate as pgMigrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/tokens/tokens.ts';
import { findCaller } from '../../src/store/queries/tokens.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { DATABASE_FILE, openSqliteStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/store.ts';
import { tempDirFor } from '../support/harness.ts';
import { selectRows } from '../support/sql.ts';
import { testDatabaseUrl } from '../support/store.ts';

const OLD_ROWS = [
  `INSERT INTO tokens (id, name, role, token_hash, created_by, created_at) VALUES ('tok_a', 'ops', 'operator', '${hashToken('fota_secret-of-the-first-ops-token')}', 'system', 1)`,
  `INSERT INTO tokens (id, name, role, token_hash, created_by, created_at) VALUES ('tok_b', 'ops', 'operator', '${hashToken('fota_secret-of-the-second-ops-token')}', 'system', 2)`,
  `INSERT INTO tokens (id, name, role, token_hash, created_by, created_at) VALUES ('tok_c', 'first admin', 'admin', '${hashToken('fota_secret-of-the-admin-token-000')}', 'system', 3)`,
  `INSERT INTO audit_events (id, at, actor, action, subject, details) VALUES ('evt_1', 10, 'tok_a', 'device.register', 'dev-1', '{}')`,
  `INSERT INTO audit_events (id, at, actor, action, subject, details) VALUES ('evt_2', 11, 'system', 'build.upload', 'bld_1', '{}')`,
];

/** A copy of a dialect's migrations that stops before the first one about people. */
function migrationsBeforePeople(folder: string): string {
  const copy = join(tempDirFor('migrations', afterAll), 'migrations');
  cpSync(fileURLToPath(new URL(`../../src/store/${folder}`, import.meta.url)), copy, { recursive: true });
  const journalFile = join(copy, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: Array<{ tag: string }> };
  const at = journal.entries.findIndex((e) => /_people$/.test(e.tag));
  expect(at, 'a migration tagged *_people').toBeGreaterThan(0);
  writeFileSync(journalFile, JSON.stringify({ ...journal, entries: journal.entries.slice(0, at) }));
  return copy;
}

/** A store opened on a database that held OLD_ROWS before the people migrations. */
async function migratedStore(): Promise<Store> {
  const url = await testDatabaseUrl();
  if (url === undefined) {
    const dir = join(tempDirFor('people-migration', afterAll), 'data');
    mkdirSync(dir, { recursive: true });
    const sqlite = new Database(join(dir, DATABASE_FILE));
    sqliteMigrate(sqliteDrizzle(sqlite), { migrationsFolder: migrationsBeforePeople('migrations') });
    for (const statement of OLD_ROWS) sqlite.exec(statement);
    sqlite.close();
    const store = openSqliteStore(dir);
    afterAll(() => store.close());
    return store;
  }
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  await pgMigrate(pgDrizzle(pool), { migrationsFolder: migrationsBeforePeople('migrations-pg') });
  for (const statement of OLD_ROWS) await pool.query(statement);
  await pool.end();
  const store = await openPostgresStore(url);
  afterAll(() => store.close());
  return store;
}

describe('the migration to people', () => {
  it('gives every existing token a person of its own, keeps it working, and rewrites the audit actor', async () => {
    const db = await migratedStore();
    const people = await selectRows<{ id: string; login: string; display_name: string }>(db, 'SELECT id, login, display_name FROM people ORDER BY id');
    expect(people).toEqual([
      { id: 'psn_a', login: 'ops (tok_a)', display_name: 'ops' },
      { id: 'psn_b', login: 'ops (tok_b)', display_name: 'ops' },
      { id: 'psn_c', login: 'first admin', display_name: 'first admin' },
    ]);
    // Two tokens that shared a name are two people; each still authenticates as before.
    const first = await findCaller(db, hashToken('fota_secret-of-the-first-ops-token'));
    const second = await findCaller(db, hashToken('fota_secret-of-the-second-ops-token'));
    expect(first?.person.id).toBe('psn_a');
    expect(second?.person.id).toBe('psn_b');
    expect(first?.token.role).toBe('operator');
    expect((await findCaller(db, hashToken('fota_secret-of-the-admin-token-000')))?.token.role).toBe('admin');

    const events = await selectRows<{ id: string; actor: string; actor_name: string | null; token_id: string | null }>(db, 'SELECT id, actor, actor_name, token_id FROM audit_events ORDER BY id');
    expect(events).toEqual([
      { id: 'evt_1', actor: 'psn_a', actor_name: 'ops', token_id: 'tok_a' },
      { id: 'evt_2', actor: 'system', actor_name: null, token_id: null },
    ]);
  });
});
