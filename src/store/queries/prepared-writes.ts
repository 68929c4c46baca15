// Writes prepared once per connection and per shape of the values they are given: the
// columns a call sets (as placeholders) and those it leaves out (to the schema's defaults,
// as drizzle's builder leaves them). Used where a row is written on every DM message or
// upload and building the statement each time cost more than running it.
import { type Placeholder, sql } from 'drizzle-orm';
import type { Tx } from '../store.ts';
import { onDialect, preparedPer } from './prepared.ts';

/**
 * The statement shape of row values: each value given is bound to a placeholder named as
 * its column, each null is a literal NULL (as drizzle binds it), and undefined is left
 * out (as drizzle does). The key names the shape, so each call site's set of columns is
 * prepared once; the values themselves are the parameters (nothing copied per call).
 */
function shapeKey(values: Record<string, unknown>): string {
  let key = '';
  for (const name in values) {
    const value = values[name];
    if (value === undefined) continue;
    key += value === null ? `${name}=null,` : `${name},`;
  }
  return key;
}

function shapeColumns(values: Record<string, unknown>): Record<string, Placeholder | null> {
  const columns: Record<string, Placeholder | null> = {};
  for (const name in values) {
    const value = values[name];
    if (value !== undefined) columns[name] = value === null ? null : sql.placeholder(name);
  }
  return columns;
}

/**
 * Statements prepared per connection and per shape of the values they write. The row's
 * key (an update's WHERE) is the placeholder `where_id`, a name no column has (they are
 * camelCase).
 */
export function preparedWrites<T>(build: (tx: Tx, columns: Record<string, Placeholder | null>) => T): (tx: Tx, values: Record<string, unknown>) => T {
  const byShape = preparedPer(() => new Map<string, T>());
  return (tx, values) => {
    const key = shapeKey(values);
    const statements = byShape(tx);
    let statement = statements.get(key);
    if (statement === undefined) {
      statement = onDialect(tx, build(tx, shapeColumns(values)));
      statements.set(key, statement);
    }
    return statement;
  };
}

// Drizzle's types leave placeholders out of update sets, but it binds them there as in
// inserts and wheres (each through its column's encoder).
export const asSet = <T>(columns: Record<string, Placeholder | null>) => columns as unknown as T;
