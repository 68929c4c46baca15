// Queries prepared once per database connection, drizzle-built or plain SQL, for every
// queries file: building the SQL in drizzle and compiling it in SQLite on each call cost
// more than running it.
import Database from 'better-sqlite3';
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

/**
 * The better-sqlite3 connection a transaction (or the database itself) runs on, for the
 * bulk statements drizzle does not build. Raw SQL takes the transaction, not the database,
 * so it provably runs inside the caller's transaction: drizzle keeps the connection on the
 * session every transaction of a database shares (the same internal connectionOf reads).
 */
export function sqliteOf(tx: Tx): Database.Database {
  const own: unknown = (tx as unknown as { $client?: unknown }).$client;
  if (own instanceof Database) return own;
  const session = connectionOf(tx) as { client?: unknown };
  if (session.client instanceof Database) return session.client;
  throw new Error('no better-sqlite3 connection behind this transaction (has drizzle changed its session?)');
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
export function preparedSql(tx: Tx, text: string): Database.Statement {
  const client = sqliteOf(tx);
  let cache = sqlStatements.get(client);
  if (!cache) sqlStatements.set(client, (cache = new Map()));
  let statement = cache.get(text);
  if (!statement) cache.set(text, (statement = client.prepare(text)));
  return statement;
}
