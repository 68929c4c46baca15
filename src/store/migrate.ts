// `fota db migrate` and the one place that says which database a configuration opens.
// Every process also migrates when it opens the database (db.ts); this runs the same
// committed migrations on their own and says which ones it applied, so an operator can
// migrate once before rolling out new servers and workers.
//
// Only SQLite (`<data>/fota.db`) is wired so far. A PostgreSQL URL passes the
// configuration's check and is refused here, so nothing silently opens SQLite instead.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { openDatabase } from './db.ts';

export interface DatabaseTarget {
  dataDir: string;
  databaseUrl?: string;
}

export interface MigrationReport {
  dialect: 'sqlite';
  /** Where the database is (the SQLite file). */
  location: string;
  /** Tags of the migrations this run applied, oldest first (e.g. 0006_console_sessions). */
  applied: string[];
  /** How many migrations the database has now. */
  total: number;
}

const MIGRATIONS = fileURLToPath(new URL('./migrations', import.meta.url));
const MIGRATIONS_TABLE = '__drizzle_migrations';
const journalSchema = z.object({ entries: z.array(z.object({ when: z.number(), tag: z.string() })) });

/** The SQLite data directory a configuration names; refuses a PostgreSQL URL until that store exists. */
export function sqliteDataDir(target: DatabaseTarget): string {
  if (target.databaseUrl !== undefined) {
    throw new AppError('VALIDATION', 'a PostgreSQL database (FOTA_DATABASE_URL or --database) is not supported by this version yet; leave it unset to use SQLite in the data directory');
  }
  return target.dataDir;
}

/** Applies the committed migrations that the database lacks and reports them. */
export function migrateDatabase(target: DatabaseTarget): MigrationReport {
  const dataDir = sqliteDataDir(target);
  const location = join(dataDir, 'fota.db');
  const before = new Set(existsSync(location) ? appliedMillis(location) : []);
  const db = openDatabase(dataDir);
  db.$client.close();
  const after = appliedMillis(location);
  const tags = new Map(journal().map((entry) => [entry.when, entry.tag]));
  const applied = after
    .filter((when) => !before.has(when))
    .sort((a, b) => a - b)
    .map((when) => tags.get(when) ?? `migration of ${new Date(when).toISOString()}`);
  return { dialect: 'sqlite', location, applied, total: after.length };
}

/** The `created_at` (the migration's folder time) of every migration applied to the file. */
function appliedMillis(file: string): number[] {
  const sqlite = new Database(file, { fileMustExist: true });
  try {
    const table = sqlite.prepare("select 1 from sqlite_master where type = 'table' and name = ?").get(MIGRATIONS_TABLE);
    if (!table) return [];
    return (sqlite.prepare(`select created_at from ${MIGRATIONS_TABLE}`).all() as Array<{ created_at: number | string }>).map((row) => Number(row.created_at));
  } finally {
    sqlite.close();
  }
}

function journal(): Array<{ when: number; tag: string }> {
  return journalSchema.parse(JSON.parse(readFileSync(join(MIGRATIONS, 'meta', '_journal.json'), 'utf8'))).entries;
}
