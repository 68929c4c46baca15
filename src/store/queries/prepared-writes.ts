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
 * out (as drizzle does). Each call site's set of columns is prepared once; the values
 * themselves are the parameters (nothing copied per call).
 *
 * Shapes are found by walking a tree of their columns, one Map lookup per column (its
 * name, a constant whose hash V8 keeps), in the values' order: a key string built per call
 * and hashed whole cost three times as much, a microsecond per session row (bench/dm.ts).
 */
class Shapes<T> {
  private readonly given = new Map<string, Shapes<T>>();
  private readonly nulls = new Map<string, Shapes<T>>();
  statement: T | undefined;

  /** The node of these values' shape, made on first use. */
  of(values: Record<string, unknown>): Shapes<T> {
    let node: Shapes<T> = this;
    for (const name in values) {
      const value = values[name];
      if (value === undefined) continue;
      const edges = value === null ? node.nulls : node.given;
      let next = edges.get(name);
      if (next === undefined) {
        next = new Shapes<T>();
        edges.set(name, next);
      }
      node = next;
    }
    return node;
  }
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
  const byShape = preparedPer(() => new Shapes<T>());
  return (tx, values) => {
    const shape = byShape(tx).of(values);
    return (shape.statement ??= onDialect(tx, build(tx, shapeColumns(values))));
  };
}

// Drizzle's types leave placeholders out of update sets, but it binds them there as in
// inserts and wheres (each through its column's encoder).
export const asSet = <T>(columns: Record<string, Placeholder | null>) => columns as unknown as T;
