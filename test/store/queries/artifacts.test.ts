// The list of columns that reference artifacts is what garbage collection trusts: a
// column it does not know would have its objects removed as orphans.
import { getTableColumns, getTableName, is } from 'drizzle-orm';
import { SQLiteTable } from 'drizzle-orm/sqlite-core';
import { describe, expect, it } from 'vitest';
import { artifactColumns } from '../../../src/store/queries/artifacts.ts';
import * as schema from '../../../src/store/schema/index.ts';

describe('artifact references', () => {
  it('names every column of the schema that holds a SHA-256', () => {
    const inSchema = Object.values(schema)
      .filter((table) => is(table, SQLiteTable))
      .flatMap((table) => Object.values(getTableColumns(table)).map((column) => `${getTableName(table)}.${column.name}`))
      .filter((name) => /sha256/i.test(name));
    const listed = artifactColumns(schema).map(({ table, column }) => `${getTableName(table)}.${column.name}`);
    expect(listed.sort()).toEqual(inSchema.sort());
    expect(listed).toEqual(expect.arrayContaining(['builds.sha256', 'packages.file_sha256']));
  });
});
