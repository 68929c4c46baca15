// Opens the SQLite database (WAL, foreign keys, busy timeout) and applies the committed
// migrations, so a fresh data directory and an old one both come up on the current schema.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema/index.ts';

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

const MIGRATIONS = fileURLToPath(new URL('./migrations', import.meta.url));

export function openDatabase(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const sqlite = new Database(join(dataDir, 'fota.db'));
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // WAL with synchronous=NORMAL is durable across process crashes (what the job queue
  // needs) and only risks the last commits on a power loss.
  sqlite.pragma('synchronous = NORMAL');
  const db = drizzle(sqlite, { schema });
  migrate(db, { migrationsFolder: MIGRATIONS });
  return db;
}

/**
 * For transactions that read and then write: taking the write lock at BEGIN makes a second
 * process wait (busy_timeout) instead of failing with SQLITE_BUSY_SNAPSHOT when it
 * commits in between.
 */
export const IMMEDIATE = { behavior: 'immediate' } as const;

export { schema };
