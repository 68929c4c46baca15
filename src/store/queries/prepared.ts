// Queries prepared once per database connection, for the reads and writes every DM
// message makes: building the SQL in drizzle and compiling it in SQLite on each call cost
// more than running it (bench/dm.ts). Built with `tx.q` and `tx.t` like any query and run
// with `await statement.execute(params)`, which both dialects' prepared queries have.
import type { Tx } from '../store.ts';
import { direct as pgDirect } from './pg-direct.ts';
import { direct as sqliteDirect } from './sqlite-direct.ts';

/**
 * What statements are cached under: the database client under the drizzle session of the
 * transaction's query builder. On SQLite every transaction of the store runs on the one
 * write connection, and reads outside transactions on the read-only one. On PostgreSQL
 * drizzle makes a new session for every transaction, on a connection the pool lends it
 * (reads outside transactions go to the pool itself): keyed by the session, every
 * transaction built its statements again (query building cost more than the round
 * trip, bench/dm.ts --postgres), while keyed by the pooled connection a statement is built
 * once per connection and runs on the one its transaction holds.
 */
function connectionOf(q: Tx['q']): object {
  const session: unknown = (q as unknown as { session?: unknown }).session;
  if (typeof session !== 'object' || session === null) return q;
  const client: unknown = (session as { client?: unknown }).client;
  return typeof client === 'object' && client !== null ? client : session;
}

/**
 * A statement as built by drizzle (`.prepare()`), made to run the cheapest way on the
 * transaction's dialect: on SQLite straight on better-sqlite3 (sqlite-direct.ts), on
 * PostgreSQL as a named statement on node-postgres (pg-direct.ts). For statements kept and
 * run again; `preparedPer` does it.
 */
export function onDialect<T>(tx: Tx, statement: T): T {
  return tx.dialect === 'sqlite' ? sqliteDirect(statement) : pgDirect(statement);
}

/** A query prepared on first use for each connection. */
export function preparedPer<T>(build: (tx: Tx) => T): (tx: Tx) => T {
  const statements = new WeakMap<object, T>();
  return (tx) => {
    const connection = connectionOf(tx.q);
    let statement = statements.get(connection);
    if (statement === undefined) {
      statement = onDialect(tx, build(tx));
      statements.set(connection, statement);
    }
    return statement;
  };
}

/** `tx` for a statement run on `reads` when the store names a connection for it, else `tx` itself. */
function on(tx: Tx, reads: Tx['q'] | undefined): Tx {
  return reads === undefined ? tx : { q: reads, t: tx.t, dialect: tx.dialect };
}

/**
 * A read prepared on first use for each connection, run outside a transaction where the
 * store says reads are cheapest (`tx.reads`: on SQLite the idle writer). Only for
 * statements that cannot write: the writer outside a transaction would commit them.
 */
export function preparedRead<T>(build: (tx: Tx) => T): (tx: Tx) => T {
  const onConnection = preparedPer(build);
  return (tx) => onConnection(on(tx, tx.reads));
}

/**
 * A read of one device's own rows (its device row, DM sessions, enrollment), prepared as
 * `preparedRead`, run outside a transaction where the store says reads of that device are
 * cheapest (`tx.readsOf`: on SQLite also the writer while the uncommitted writes there are
 * other devices'). Only for statements that read no other rows but such a device's, or
 * whose caller acts alike on what they read of others committed or not (say why there).
 */
export function preparedDeviceRead<T>(build: (tx: Tx) => T): (tx: Tx, deviceId: string) => T {
  const onConnection = preparedPer(build);
  return (tx, deviceId) => onConnection(on(tx, tx.readsOf === undefined ? tx.reads : tx.readsOf(deviceId)));
}
