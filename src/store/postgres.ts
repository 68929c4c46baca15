// The PostgreSQL store (FOTA_DATABASE_URL=postgres://…): the same Store as SQLite's, on a
// pool of node-postgres connections through drizzle's pg dialect. The domain's queries
// are written once against the SQLite types; here they run on the twin pg tables
// (src/store/schema-pg, the same columns: test/store/schemas.test.ts), so the builder
// drizzle hands them is the pg one.
import { fileURLToPath } from 'node:url';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { AppError } from '../errors.ts';
import * as pgSchema from './schema-pg/index.ts';
import type { Q, Store, Tables, Tx } from './store.ts';

const MIGRATIONS = fileURLToPath(new URL('./migrations-pg', import.meta.url));

/** Any fixed number: every process migrating at once waits on this one advisory lock. */
const MIGRATION_LOCK = 0x666f7461; // "fota"

/**
 * Row values come back as the SQLite store returns them: 64-bit integers and numerics
 * (bigint columns, count, sum) as numbers. node-postgres returns them as strings, since
 * they may exceed 2^53; ours are milliseconds, byte counts and row counts. Set on
 * node-postgres' shared parsers because drizzle passes its own parser table with every
 * query and falls back to those for these types; nothing else in the process uses pg.
 */
pg.types.setTypeParser(pg.types.builtins.INT8, Number);
pg.types.setTypeParser(pg.types.builtins.NUMERIC, Number);

export interface PostgresOptions {
  /** Connections this process keeps open (node-postgres' pool `max`). */
  poolSize?: number;
}

/** The URL without its password, for messages and logs. */
export function describeDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'an unparsable URL';
  }
}

/** The error for a database that cannot be reached or migrated: where, and why, without the password. */
export function cannotOpen(url: string, err: unknown): AppError {
  return new AppError('IO', `cannot open the PostgreSQL database ${describeDatabaseUrl(url)}: ${(err as Error).message}`, { cause: err });
}

/** Opens the pool and applies the committed migrations (all processes may do so at once). */
export async function openPostgresStore(url: string, options: PostgresOptions = {}): Promise<Store> {
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 });
  // An idle client losing its connection (a PostgreSQL restart) is reported here, not thrown
  // into the process; the pool opens a new connection for the next query.
  pool.on('error', () => {});
  // A client losing it while checked out (a transaction under way) emits 'error' on itself,
  // where the pool does not listen: unheard, that ends the process. Its query in flight, or
  // its next one, rejects instead, so the transaction fails, and the pool drops the dead
  // client when it is released.
  pool.on('connect', (client) => client.on('error', () => {}));
  try {
    await migratePostgres(pool);
  } catch (err) {
    await pool.end();
    throw cannotOpen(url, err);
  }
  const db = drizzle(pool, { schema: pgSchema });
  let closing: Promise<void> | undefined;
  const asTx = (q: NodePgDatabase<typeof pgSchema>): Tx => ({ q: q as unknown as Q, t: pgSchema as unknown as Tables, dialect: 'postgres' });
  // A transaction's query builder, made once per pooled connection and kept with it:
  // drizzle's own `transaction` builds a session and a database (with a relational query
  // builder for every table) for each transaction and sends its BEGIN and COMMIT through
  // its query path, which cost more per DM message than the statements' own mapping
  // (bench/dm.ts --postgres profile).
  const builders = new WeakMap<pg.PoolClient, Tx>();
  const onConnection = (client: pg.PoolClient): Tx => {
    let tx = builders.get(client);
    if (tx === undefined) {
      tx = asTx(drizzle(client, { schema: pgSchema }));
      builders.set(client, tx);
    }
    return tx;
  };
  return {
    ...asTx(db),
    async transaction(fn) {
      const client = await pool.connect();
      // A ROLLBACK that failed leaves the connection in no known state: the pool drops it.
      let unusable: Error | undefined;
      try {
        await client.query('BEGIN');
        try {
          const result = await fn(onConnection(client));
          await client.query('COMMIT');
          return result;
        } catch (error) {
          // When the connection is gone, the ROLLBACK fails too, and its error would
          // replace the one that says why the transaction failed.
          await client.query('ROLLBACK').catch((err: Error) => {
            unusable = err;
          });
          throw error;
        }
      } finally {
        client.release(unusable);
      }
    },
    async ping() {
      await pool.query('select 1');
    },
    // Idempotent, as SQLite's: a context closed after a failed start is closed again at exit.
    close() {
      closing ??= pool.end();
      return closing;
    },
  };
}

/** Applies the migrations on one connection holding an advisory lock, so concurrent starts take turns. */
export async function migratePostgres(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await migrate(drizzle(client), { migrationsFolder: MIGRATIONS });
    } finally {
      await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}
