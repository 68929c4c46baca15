// `fota db migrate`: the committed migrations of the configured database (SQLite file or
// PostgreSQL), applied on their own, reporting which ones ran. Every process also migrates
// when it opens the store (sqlite.ts, postgres.ts); this lets an operator migrate once
// before rolling out new servers and workers.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { z } from 'zod';
import { type DatabaseTarget, openStore } from './open.ts';
import { cannotOpen, describeDatabaseUrl } from './postgres.ts';
import { DATABASE_FILE } from './sqlite.ts';

export interface MigrationReport {
  dialect: 'sqlite' | 'postgres';
  /** Where the database is: the SQLite file, or the PostgreSQL URL without its password. */
  location: string;
  /** Tags of the migrations this run applied, oldest first (e.g. 0006_console_sessions). */
  applied: string[];
  /** How many migrations the database has now. */
  total: number;
}

const MIGRATIONS = { sqlite: fileURLToPath(new URL('./migrations', import.meta.url)), postgres: fileURLToPath(new URL('./migrations-pg', import.meta.url)) };
const journalSchema = z.object({ entries: z.array(z.object({ when: z.number(), tag: z.string() })) });

/** Applies the committed migrations that the database lacks and reports them. */
export async function migrateDatabase(target: DatabaseTarget): Promise<MigrationReport> {
  const dialect = target.databaseUrl === undefined ? 'sqlite' : 'postgres';
  const applied = dialect === 'sqlite' ? () => sqliteApplied(join(target.dataDir, DATABASE_FILE)) : () => postgresApplied(target.databaseUrl ?? '');
  const before = new Set(await applied());
  await (await openStore(target)).close();
  const after = await applied();
  const tags = new Map(journal(dialect).map((entry) => [entry.when, entry.tag]));
  return {
    dialect,
    location: dialect === 'sqlite' ? join(target.dataDir, DATABASE_FILE) : describeDatabaseUrl(target.databaseUrl ?? ''),
    applied: after
      .filter((when) => !before.has(when))
      .sort((a, b) => a - b)
      .map((when) => tags.get(when) ?? `migration of ${new Date(when).toISOString()}`),
    total: after.length,
  };
}

/** The `created_at` (the migration's folder time) of every migration applied to the file. */
async function sqliteApplied(file: string): Promise<number[]> {
  if (!existsSync(file)) return [];
  const sqlite = new Database(file, { fileMustExist: true, readonly: true });
  try {
    const table = sqlite.prepare("select 1 from sqlite_master where type = 'table' and name = '__drizzle_migrations'").get();
    if (!table) return [];
    return (sqlite.prepare('select created_at from __drizzle_migrations').all() as Array<{ created_at: number | string }>).map((row) => Number(row.created_at));
  } finally {
    sqlite.close();
  }
}

/** The same on PostgreSQL, where drizzle keeps its journal in the `drizzle` schema. */
async function postgresApplied(url: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect().catch((err: unknown) => {
    throw cannotOpen(url, err);
  });
  try {
    const table = await client.query("select 1 from information_schema.tables where table_schema = 'drizzle' and table_name = '__drizzle_migrations'");
    if (table.rowCount === 0) return [];
    return (await client.query<{ created_at: string }>('select created_at from drizzle.__drizzle_migrations')).rows.map((row) => Number(row.created_at));
  } finally {
    await client.end();
  }
}

function journal(dialect: 'sqlite' | 'postgres'): Array<{ when: number; tag: string }> {
  return journalSchema.parse(JSON.parse(readFileSync(join(MIGRATIONS[dialect], 'meta', '_journal.json'), 'utf8'))).entries;
}
