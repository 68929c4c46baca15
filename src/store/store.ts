// The store's interface: what the domain gets as `ctx.db`, the same on SQLite (sqlite.ts)
// and PostgreSQL. Every access is asynchronous. Queries are written once, against drizzle's
// query builder and the tables a transaction carries (`tx.q`, `tx.t`), so one query
// function runs on either dialect; raw SQL goes through dialect.ts.
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import type * as schema from './schema/index.ts';

export type Dialect = 'sqlite' | 'postgres';

/** drizzle's query builder, typed as the SQLite one (both dialects' builders share the subset we use). */
export type Q = BetterSQLite3Database<typeof schema>;

/** The tables, typed as the SQLite schema; on PostgreSQL they are the twin pg tables of src/store/schema-pg (same columns, checked by test/store/schemas.test.ts). */
export type Tables = typeof schema;

/** What a query function takes: a transaction, or the store itself for reads outside one. */
export interface Tx {
  readonly q: Q;
  /**
   * Where a prepared read outside a transaction is cheapest (prepared.ts), if not on `q`:
   * on SQLite the write connection while no transaction holds it.
   */
  readonly reads?: Q;
  /**
   * Where a prepared read of one device's own rows (its device row, DM sessions and
   * enrollment) outside a transaction is cheapest (prepared.ts, preparedDeviceRead), if
   * not on `reads`: on SQLite also the write connection while a grouped COMMIT is due, so
   * long as no transaction of that batch wrote this device's rows (sqlite.ts).
   */
  readsOf?(deviceId: string): Q;
  readonly t: Tables;
  readonly dialect: Dialect;
}

export interface TransactionOptions {
  /**
   * May share its COMMIT with the other grouped transactions of this turn of the event
   * loop (SQLite, sqlite.ts GroupCommit): for the many small ones of DM messages. Its
   * promise still resolves only once committed. When another transaction of its batch
   * fails, the batch is rolled back and its promise rejects with BatchRolledBack: nothing
   * of it is stored, and the caller runs it again, from its own inputs (no savepoint per
   * transaction). PostgreSQL commits each on its own.
   */
  grouped?: boolean;
  /**
   * The device whose own rows (device row, DM sessions, enrollment) are the only ones of
   * those this transaction writes: a DM message's. Until its COMMIT, another device's
   * reads (`readsOf`) may still run on SQLite's write connection; without it, none do.
   */
  device?: string;
  /**
   * Writes many pages (a chunk of a campaign's start or of a stage's scheduling): on
   * SQLite a WAL checkpoint is asked of the checkpointer's thread right after its COMMIT
   * (checkpointer.ts), so the writer's own autocheckpoint never copies a bulk of pages
   * inside a later COMMIT on the event loop. PostgreSQL ignores it.
   */
  bulk?: boolean;
}

export interface Store extends Tx {
  /**
   * fn runs in one transaction: committed when its promise resolves, rolled back when it
   * rejects. It holds the writer: database work only inside (no network or file I/O), and
   * never another `transaction` call (on SQLite that waits for this one: a deadlock).
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>, options?: TransactionOptions): Promise<T>;
  ping(): Promise<void>;
  /** Waits for the transaction under way, then closes the connections. */
  close(): Promise<void>;
}

/**
 * A grouped transaction whose batch was rolled back because another transaction of it
 * failed (TransactionOptions.grouped): nothing of this one is stored, and it is worth
 * running again; the other transaction's error is the cause.
 */
export class BatchRolledBack extends Error {
  constructor(cause: unknown) {
    super(`rolled back with its batch: another transaction of it failed (${cause instanceof Error ? cause.message : String(cause)})`, { cause });
    this.name = 'BatchRolledBack';
  }
}
