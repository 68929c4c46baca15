// What differs between the dialects, in one place: running raw SQL (the bulk statements
// drizzle's builder does not express) and locking the rows a transaction reads before it
// decides a write. Query functions use these instead of a dialect's own API, so they run
// on SQLite and PostgreSQL alike.
import type Database from 'better-sqlite3';
import { type SQL, sql } from 'drizzle-orm';
import { SQLiteSyncDialect } from 'drizzle-orm/sqlite-core';
import { BoundedMap } from '../bounded-map.ts';
import type { Tx } from './store.ts';

/** The rows a raw query returns, keyed by column name (quote camelCase aliases: PostgreSQL folds unquoted ones). */
export async function rows<T>(tx: Tx, query: SQL): Promise<T[]> {
  switch (tx.dialect) {
    case 'sqlite': {
      const { statement, params } = sqliteStatement(tx, query);
      return statement.all(...params) as T[];
    }
    case 'postgres':
      return (await pgExecute(tx, query)).rows as T[];
  }
}

/** Runs a raw statement; returns how many rows it changed. */
export async function execute(tx: Tx, query: SQL): Promise<number> {
  switch (tx.dialect) {
    case 'sqlite': {
      const { statement, params } = sqliteStatement(tx, query);
      return statement.run(...params).changes;
    }
    case 'postgres':
      return (await pgExecute(tx, query)).rowCount ?? 0;
  }
}

/**
 * A select whose rows the transaction goes on to change on what it read (claim a job, take
 * queued notifications, advance a campaign): on PostgreSQL it locks them (FOR UPDATE, with
 * `skipLocked` concurrent takers pass over each other's rows); on SQLite the transaction
 * already holds the only write lock (BEGIN IMMEDIATE), so the query is returned as it is.
 */
export function forUpdate<T>(tx: Tx, query: T, options: { skipLocked?: boolean } = {}): T {
  switch (tx.dialect) {
    case 'sqlite':
      return query;
    case 'postgres':
      // The pg builder has .for(); the SQLite type the queries are written against does not.
      return (query as unknown as { for(strength: 'update', config: { skipLocked?: boolean }): T }).for('update', { skipLocked: options.skipLocked ?? false });
  }
}

/**
 * Makes the transactions that call this with the same `name` run their remaining work one
 * at a time, until each commits: for a rule no row lock or index covers (a device is in one
 * campaign at a time, judged over campaigns not yet holding it). PostgreSQL: a transaction
 * advisory lock; SQLite: nothing to do, every transaction already holds the only write lock.
 * Call it first in the transaction: on PostgreSQL each later statement then reads what the
 * previous holder committed.
 */
export async function serialize(tx: Tx, name: string): Promise<void> {
  switch (tx.dialect) {
    case 'sqlite':
      return;
    case 'postgres':
      await pgExecute(tx, sql`SELECT pg_advisory_xact_lock(hashtext(${name}))`);
  }
}

// --- PostgreSQL --------------------------------------------------------------------------

/** drizzle's pg `execute`: the statement on the transaction's connection (or the pool). */
function pgExecute(tx: Tx, query: SQL): Promise<{ rows: unknown[]; rowCount: number | null }> {
  return (tx.q as unknown as { execute(query: SQL): Promise<{ rows: unknown[]; rowCount: number | null }> }).execute(query);
}

// --- SQLite ------------------------------------------------------------------------------

const sqliteDialect = new SQLiteSyncDialect();
/** Distinct statement texts kept prepared per connection (IN lists of varying length make new ones). */
const MAX_STATEMENTS = 256;
const statements = new WeakMap<Database.Database, BoundedMap<string, Database.Statement>>();

/**
 * The statement under the transaction's better-sqlite3 connection, prepared once per text:
 * compiling a bulk statement cost more than running it. Reached through `tx.q`, so raw
 * SQL provably runs inside the caller's transaction (or on the read-only connection).
 */
function sqliteStatement(tx: Tx, query: SQL): { statement: Database.Statement; params: unknown[] } {
  const client = (tx.q as unknown as { $client: Database.Database }).$client;
  const { sql: text, params } = sqliteDialect.sqlToQuery(query);
  let cache = statements.get(client);
  if (!cache) statements.set(client, (cache = new BoundedMap(MAX_STATEMENTS)));
  return { statement: cache.kept(text, () => client.prepare(text)), params };
}
