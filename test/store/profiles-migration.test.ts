// The migration to configuration profiles on a database that already ran firmware
// campaigns: SQLite changes campaigns.build_id and deployments.build_id to nullable by
// rebuilding both tables, and campaigns have stages pointing at them. The database is
// migrated up to just before the profiles migration with the committed migrations, given
// a campaign with a stage and a deployment, then opened as a server opens it (foreign
// keys on): nothing is lost, and the old campaign is a firmware campaign.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { afterAll, describe, expect, it } from 'vitest';
import { DATABASE_FILE, openSqliteStore } from '../../src/store/sqlite.ts';
import { tempDirFor } from '../support/harness.ts';
import { runSql, selectRows } from '../support/sql.ts';

/** A copy of the SQLite migrations that stops before the profiles one. */
function migrationsBeforeProfiles(): string {
  const copy = join(tempDirFor('migrations', afterAll), 'migrations');
  cpSync(fileURLToPath(new URL('../../src/store/migrations', import.meta.url)), copy, { recursive: true });
  const journalFile = join(copy, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: Array<{ tag: string }> };
  const at = journal.entries.findIndex((e) => /_profiles$/.test(e.tag));
  expect(at, 'a migration tagged *_profiles').toBeGreaterThan(0);
  writeFileSync(journalFile, JSON.stringify({ ...journal, entries: journal.entries.slice(0, at) }));
  return copy;
}

const IDS: Record<string, string> = { manufacturers: 'mfr_old', models: 'mdl_old', builds: 'bld_old', devices: 'dev-old', campaigns: 'cmp_old', deployments: 'dep_old' };

/**
 * One row in each table, every required column filled and every key pointing at the rows
 * above: the columns are read from the database, so this keeps up with older migrations.
 */
function insertRow(db: Database.Database, table: string): void {
  const columns = db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string; type: string; notnull: number; dflt_value: unknown }>;
  const keys = db.prepare(`PRAGMA foreign_key_list(${table})`).all() as Array<{ table: string; from: string }>;
  const row: Record<string, unknown> = {};
  for (const c of columns) {
    const key = keys.find((k) => k.from === c.name);
    if (key) row[c.name] = IDS[key.table];
    else if (c.name === 'id') row[c.name] = IDS[table];
    else if (c.name === 'manufacturer_id') row[c.name] = IDS.manufacturers;
    else if (c.name === 'campaign_id') row[c.name] = IDS.campaigns;
    else if (c.notnull && c.dflt_value === null) row[c.name] = /INT|REAL/i.test(c.type) ? 1 : c.name === 'cohort' || c.name === 'history' ? '[]' : 'old';
  }
  const names = Object.keys(row);
  db.prepare(`INSERT INTO ${table} (${names.map((n) => `"${n}"`).join(', ')}) VALUES (${names.map(() => '?').join(', ')})`).run(...names.map((n) => row[n]));
}

describe('the migration to configuration profiles (SQLite)', () => {
  it('keeps a firmware campaign, its stage and its deployment, with keys enforced', async () => {
    const dir = join(tempDirFor('profiles-migration', afterAll), 'data');
    mkdirSync(dir, { recursive: true });
    const old = new Database(join(dir, DATABASE_FILE));
    old.pragma('foreign_keys = ON');
    migrate(drizzle(old), { migrationsFolder: migrationsBeforeProfiles() });
    for (const table of ['manufacturers', 'models', 'builds', 'devices', 'campaigns', 'campaign_stages', 'deployments']) insertRow(old, table);
    expect(old.pragma('foreign_key_check')).toEqual([]);
    old.close();

    const store = openSqliteStore(dir);
    afterAll(() => store.close());
    expect(await selectRows(store, 'SELECT id, build_id, kind, profile_version_id FROM campaigns')).toEqual([{ id: 'cmp_old', build_id: 'bld_old', kind: 'firmware', profile_version_id: null }]);
    expect(await selectRows(store, 'SELECT campaign_id, idx FROM campaign_stages')).toEqual([{ campaign_id: 'cmp_old', idx: 1 }]);
    expect(await selectRows(store, 'SELECT id, build_id, campaign_id, profile_version_id FROM deployments')).toEqual([{ id: 'dep_old', build_id: 'bld_old', campaign_id: 'cmp_old', profile_version_id: null }]);
    // Keys are on again for everything after the migrations.
    await expect(runSql(store, "INSERT INTO campaign_stages (campaign_id, idx, percent) VALUES ('cmp_missing', 0, 10)")).rejects.toThrow(/FOREIGN KEY/);
  });
});
