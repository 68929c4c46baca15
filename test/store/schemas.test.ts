// The SQLite and PostgreSQL schemas describe the same tables: the same columns (name,
// kind of value, null or not, default or not, primary key), the same indexes (name,
// columns, unique, partial) and the same foreign keys. The domain code is written once
// against both, so a column missing on one side would break only there.
import { getTableConfig as pgConfig, PgTable } from 'drizzle-orm/pg-core';
import { getTableConfig as sqliteConfig, SQLiteTable } from 'drizzle-orm/sqlite-core';
import { describe, expect, it } from 'vitest';
import * as sqlite from '../../src/store/schema/index.ts';
import * as pg from '../../src/store/schema-pg/index.ts';

/** A column's kind of value, as the domain sees it (the row types must be equal). */
const KIND: Record<string, string> = {
  SQLiteText: 'text',
  PgText: 'text',
  SQLiteInteger: 'number',
  PgBigInt53: 'number',
  PgInteger: 'number',
  SQLiteReal: 'number',
  PgDoublePrecision: 'number',
  SQLiteBoolean: 'boolean',
  PgBoolean: 'boolean',
  PgBigSerial53: 'number',
};

interface Described {
  columns: Array<{ name: string; kind: string; notNull: boolean; hasDefault: boolean; primary: boolean; enum?: readonly string[] }>;
  primaryKeys: string[][];
  indexes: Array<{ name: string; columns: string[]; unique: boolean; partial: boolean }>;
  foreignKeys: Array<{ columns: string[]; table: string; foreign: string[] }>;
  uniques: string[][];
}

type AnyConfig = ReturnType<typeof sqliteConfig> | ReturnType<typeof pgConfig>;

function describeTable(config: AnyConfig): Described {
  const names = (columns: ReadonlyArray<{ name: string }>) => columns.map((c) => c.name);
  return {
    columns: config.columns
      .map((c) => ({
        name: c.name,
        kind: KIND[c.columnType] ?? `unknown ${c.columnType}`,
        notNull: c.notNull,
        // A serial has a default on PostgreSQL; SQLite's autoincrement key counts as one.
        hasDefault: c.hasDefault || c.columnType === 'PgBigSerial53' || (c.primary && c.columnType === 'SQLiteInteger' && 'autoIncrement' in c && c.autoIncrement === true),
        primary: c.primary,
        ...(c.enumValues ? { enum: c.enumValues } : {}),
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    primaryKeys: config.primaryKeys.map((pk) => names(pk.columns)),
    indexes: config.indexes
      .map((i) => ({ name: i.config.name ?? '', columns: i.config.columns.map((c) => ('name' in c ? String(c.name) : '?')), unique: i.config.unique, partial: i.config.where !== undefined }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    foreignKeys: config.foreignKeys.map((fk) => {
      const ref = fk.reference();
      return { columns: names(ref.columns), table: (ref.foreignTable as unknown as { [k: symbol]: string })[Symbol.for('drizzle:Name')] ?? '', foreign: names(ref.foreignColumns) };
    }),
    uniques: config.uniqueConstraints.map((u) => names(u.columns)),
  };
}

const sqliteTables = (Object.values(sqlite) as unknown[]).filter((v): v is SQLiteTable => v instanceof SQLiteTable);
const pgTables = (Object.values(pg) as unknown[]).filter((v): v is PgTable => v instanceof PgTable);

describe('the SQLite and PostgreSQL schemas', () => {
  it('have the same tables', () => {
    expect(pgTables.map((t) => pgConfig(t).name).sort()).toEqual(sqliteTables.map((t) => sqliteConfig(t).name).sort());
    expect(sqliteTables.length).toBeGreaterThan(10);
  });

  it.each(sqliteTables.map((t) => [sqliteConfig(t).name, t] as const))('describe %s the same way', (name, table) => {
    const twin = pgTables.find((t) => pgConfig(t).name === name);
    if (!twin) throw new Error(`no PostgreSQL table ${name}`);
    expect(describeTable(pgConfig(twin))).toEqual(describeTable(sqliteConfig(table)));
  });
});
