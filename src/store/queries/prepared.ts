// Queries prepared once per database connection, drizzle-built or plain SQL, for every
// queries file: building the SQL in drizzle and compiling it in SQLite on each call cost
// more than running it.
import type Database from 'better-sqlite3';
import type { Db } from '../db.ts';
import type { Tx } from './audit.ts';

/**
 * What statements are cached under. Drizzle makes a new object for each transaction, but
 * every transaction of a database shares that database's session (one better-sqlite3
 * connection), so statements are kept per session and work in and out of transactions.
 */
function connectionOf(tx: Tx): object {
  const session: unknown = (tx as unknown as { session?: unknown }).session;
  return typeof session === 'object' && session !== null ? session : tx;
}

/** A query prepared on first use for each connection. */
export function preparedPer<T>(build: (tx: Tx) => T): (tx: Tx) => T {
  const statements = new WeakMap<object, T>();
  return (tx) => {
    const connection = connectionOf(tx);
    let statement = statements.get(connection);
    if (statement === undefined) {
      statement = build(tx);
      statements.set(connection, statement);
    }
    return statement;
  };
}

const sqlStatements = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/** Plain SQL (bulk statements drizzle does not build) prepared once per connection. */
export function preparedSql(db: Db, text: string): Database.Statement {
  let cache = sqlStatements.get(db.$client);
  if (!cache) sqlStatements.set(db.$client, (cache = new Map()));
  let statement = cache.get(text);
  if (!statement) cache.set(text, (statement = db.$client.prepare(text)));
  return statement;
}
