// The store on the embedded SQLite file: one write connection, on which transactions run
// one at a time, and one read-only connection for reads outside transactions. The file is
// in WAL mode, so those reads see the last commit and never wait for a writer. The
// committed migrations are applied on open, so a fresh data directory and an old one
// both come up on the current schema.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema/index.ts';
import type { Q, Store, Tx } from './store.ts';

const MIGRATIONS = fileURLToPath(new URL('./migrations', import.meta.url));
export const DATABASE_FILE = 'fota.db';

export function openSqliteStore(dataDir: string): Store {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, DATABASE_FILE);
  const writer = new Database(file);
  writer.pragma('journal_mode = WAL');
  writer.pragma('foreign_keys = ON');
  writer.pragma('busy_timeout = 5000');
  // WAL with synchronous=NORMAL is durable across process crashes (what the job queue
  // needs) and only risks the last commits on a power loss.
  writer.pragma('synchronous = NORMAL');
  // A checkpoint runs inside the COMMIT that crosses this many WAL pages and blocks the
  // event loop while it copies them and syncs the file. 10,000 pages (40 MB at 4 KiB)
  // instead of SQLite's 1,000: a page rewritten many times between checkpoints (a hot
  // device or index page) is copied once, and DM bursts see a tenth of the stalls
  // (bench/dm.ts: COMMIT time -30%).
  writer.pragma('wal_autocheckpoint = 10000');
  const write = drizzle(writer, { schema });
  migrate(write, { migrationsFolder: MIGRATIONS });
  // A write outside a transaction fails here ("attempt to write a readonly database")
  // instead of running on the writer in the middle of someone else's transaction.
  const reader = new Database(file, { readonly: true });
  reader.pragma('busy_timeout = 5000');
  const read: Q = drizzle(reader, { schema });
  const ping = reader.prepare('select 1');
  const writerLock = new Mutex();

  return {
    q: read,
    /**
     * Prepared reads outside a transaction (prepared.ts): on the writer while no
     * transaction holds it (it has nothing uncommitted then), else on the read-only
     * connection. A connection drops its page cache whenever another one commits, so the
     * read-only one, which sees every commit, reads each page again from the file: a
     * device looked up there cost twice what it does on the writer, whose cache its own
     * commits keep (bench/dm.ts). A prepared read runs as soon as it is chosen, so no
     * transaction begins in between; and it cannot write.
     */
    get reads(): Q {
      return writerLock.isHeld() ? read : write;
    },
    t: schema,
    dialect: 'sqlite',
    async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
      await writerLock.acquire();
      let open = true;
      const tx: Tx = {
        get q(): Q {
          if (!open) throw new Error('this transaction has ended: a query ran after its callback settled (a promise not awaited inside it?)');
          return write;
        },
        t: schema,
        dialect: 'sqlite',
      };
      try {
        // IMMEDIATE takes the write lock at BEGIN: another process waits here (busy_timeout)
        // instead of failing with SQLITE_BUSY_SNAPSHOT when it commits in between.
        writer.exec('BEGIN IMMEDIATE');
        try {
          const result = await fn(tx);
          writer.exec('COMMIT');
          return result;
        } catch (err) {
          // SQLite rolls some failures back itself (SQLITE_FULL, an interrupted COMMIT).
          if (writer.inTransaction) writer.exec('ROLLBACK');
          throw err;
        }
      } finally {
        open = false;
        writerLock.release();
      }
    },
    async ping() {
      ping.get();
    },
    async close() {
      await writerLock.acquire();
      try {
        reader.close();
        writer.close();
      } finally {
        writerLock.release();
      }
    },
  };
}

/** Transactions of this process one at a time, in the order they asked. */
class Mutex {
  private held = false;
  private readonly waiting: Array<() => void> = [];

  isHeld(): boolean {
    return this.held;
  }

  acquire(): Promise<void> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Hands the lock to the next waiter, if any, without letting a newcomer in between. */
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.held = false;
  }
}
