// Queries prepared once per database connection (moved here from devices.ts so every
// queries file can use it): building the SQL in drizzle and compiling it in SQLite on each
// call cost more than running it.
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
