// The store on the embedded SQLite file: one write connection, on which transactions run
// one at a time, and one read-only connection for reads outside transactions. The file is
// in WAL mode, so those reads see the last commit and never wait for a writer. The
// committed migrations are applied on open, so a fresh data directory and an old one
// both come up on the current schema.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
// Imported, not the global: a test that fakes timers must not hold commits back.
import { setImmediate } from 'node:timers';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { walCheckpointer } from './checkpointer.ts';
import * as schema from './schema/index.ts';
import { BatchRolledBack, type Q, type Store, type TransactionOptions, type Tx } from './store.ts';

const MIGRATIONS = fileURLToPath(new URL('./migrations', import.meta.url));
export const DATABASE_FILE = 'fota.db';

export interface SqliteStoreOptions {
  /** Commits between two checkpoints on the checkpointer's thread (checkpointer.ts). */
  checkpointEvery?: number;
  /** Called once each of those checkpoints has finished (tests wait for it). */
  onCheckpoint?: () => void;
}

/**
 * A DM message commits a handful of pages, a batch of them some tens: a checkpoint every
 * 100 commits stays far below the writer's own autocheckpoint (10,000 pages).
 */
const CHECKPOINT_EVERY_COMMITS = 100;

export function openSqliteStore(dataDir: string, options: SqliteStoreOptions = {}): Store {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, DATABASE_FILE);
  const writer = new Database(file);
  writer.pragma('journal_mode = WAL');
  writer.pragma('busy_timeout = 5000');
  // WAL with synchronous=NORMAL is durable across process crashes (what the job queue
  // needs) and only risks the last commits on a power loss.
  writer.pragma('synchronous = NORMAL');
  // A checkpoint runs inside the COMMIT that crosses this many WAL pages and blocks the
  // event loop while it copies them and syncs the file. 10,000 pages (40 MB at 4 KiB)
  // instead of SQLite's 1,000: a page rewritten many times between checkpoints (a hot
  // device or index page) is copied once, and DM bursts see a tenth of the stalls
  // (bench/dm.ts: COMMIT time -30%). Most of that copying is done beforehand on a thread
  // of its own (checkpointer.ts): this one stays as the backstop.
  writer.pragma('wal_autocheckpoint = 10000');
  const write = drizzle(writer, { schema });
  // Foreign keys are off while migrating: changing a column in SQLite rebuilds its table
  // (drizzle-kit: create __new_x, copy, DROP x, rename), and with keys on the DROP of a
  // table other rows point to (campaigns: their stages) fails, since the
  // migration's own PRAGMA foreign_keys=OFF is ignored inside the migrator's transaction.
  // Every key is checked once the migrations are in, before anything else runs.
  writer.pragma('foreign_keys = OFF');
  migrate(write, { migrationsFolder: MIGRATIONS });
  const broken = writer.pragma('foreign_key_check') as unknown[];
  if (broken.length > 0) throw new Error(`${file}: ${broken.length} rows break a foreign key after migrating: ${JSON.stringify(broken.slice(0, 5))}`);
  writer.pragma('foreign_keys = ON');
  // A write outside a transaction fails here ("attempt to write a readonly database")
  // instead of running on the writer in the middle of someone else's transaction.
  const reader = new Database(file, { readonly: true });
  reader.pragma('busy_timeout = 5000');
  const read: Q = drizzle(reader, { schema });
  const ping = reader.prepare('select 1');
  // The copying of WAL pages into the file goes to a thread of its own (checkpointer.ts).
  const checkpointer = walCheckpointer(file, {
    everyCommits: options.checkpointEvery ?? CHECKPOINT_EVERY_COMMITS,
    onError: (message) => process.emitWarning(`WAL checkpoint on its thread failed: ${message}`),
    ...(options.onCheckpoint ? { onCheckpoint: options.onCheckpoint } : {}),
  });
  const writerLock = new Mutex();
  const commits = new GroupCommit(writer, () => writerLock.isHeld(), () => checkpointer.committed());

  return {
    q: read,
    /**
     * Prepared reads outside a transaction (prepared.ts): on the writer while no
     * transaction holds it and no grouped COMMIT is due (it has nothing uncommitted then), else on the read-only
     * connection. A connection drops its page cache whenever another one commits, so the
     * read-only one, which sees every commit, reads each page again from the file: a
     * device looked up there cost twice what it does on the writer, whose cache its own
     * commits keep (bench/dm.ts). A prepared read runs as soon as it is chosen, so no
     * transaction begins in between; and it cannot write.
     */
    get reads(): Q {
      return writerLock.isHeld() || commits.isOpen() ? read : write;
    },
    /**
     * Prepared reads of one device's own rows outside a transaction (prepared.ts,
     * preparedDeviceRead: what a DM message reads of the device and session it names): as
     * `reads`, and also on the writer while a grouped COMMIT is due, unless a transaction of
     * that batch wrote this device's rows (or did not say whose rows it wrote). Under DM load
     * a batch waits for its COMMIT most of the time, so without this nearly every such read
     * went to the read-only connection and read its pages again (bench/dm.ts: 65 µs a
     * session in three lookups). What the writer holds uncommitted is then other devices'
     * rows, which the read does not reach: it returns exactly what is committed, as the
     * read-only connection would, and stays right whatever becomes of that COMMIT (a failed
     * one loses only rows it never saw) and whenever the answer goes out. A read of a device
     * whose own message waits in the batch (a retransmission, a second session of the device)
     * must not see that message's writes: it could answer from a session or a reply that is
     * not committed and may never be (test/store/sqlite.test.ts).
     */
    readsOf(deviceId: string): Q {
      return writerLock.isHeld() || !commits.leavesAlone(deviceId) ? read : write;
    },
    t: schema,
    dialect: 'sqlite',
    async transaction<T>(fn: (tx: Tx) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
      const grouped = options.grouped === true;
      await writerLock.acquire();
      const tx = new WriteTx(write);
      let committed: Promise<void>;
      let result: T;
      try {
        commits.begin(grouped, options.device);
        try {
          result = await fn(tx);
        } catch (err) {
          commits.rollBack(err);
          throw err;
        }
        committed = commits.done(grouped);
        // Its pages go into the file on the checkpointer's thread, not in a later COMMIT here.
        if (options.bulk === true) checkpointer.bulkCommitted();
      } finally {
        tx.open = false;
        writerLock.release();
      }
      // Answered once on disk, as before: only the COMMIT is shared.
      await committed;
      return result;
    },
    async ping() {
      ping.get();
    },
    async close() {
      await writerLock.acquire();
      try {
        commits.commitNow();
        await checkpointer.close();
        reader.close();
        writer.close();
      } finally {
        writerLock.release();
      }
    },
  };
}

/**
 * A transaction's `tx`: the write connection while the transaction is under way. A class,
 * not an object literal with a getter: such a literal gets a hidden class of its own each
 * time (0.45 µs against 0.02 µs for this, in a micro-benchmark), and every query of a DM
 * message reads `tx.q` and keys caches by `tx` (prepared.ts, write-counts.ts), each read
 * then a lookup V8 could not cache.
 */
class WriteTx implements Tx {
  /** False once the transaction's callback has settled: a query after that fails. */
  open = true;
  readonly t = schema;
  readonly dialect = 'sqlite' as const;

  constructor(private readonly write: Q) {}

  get q(): Q {
    if (!this.open) throw new Error('this transaction has ended: a query ran after its callback settled (a promise not awaited inside it?)');
    return this.write;
  }
}

/**
 * Group commit: the grouped transactions (DM messages) of one turn of the event loop share
 * a SQLite transaction and its COMMIT, one after the other, and the promise of each
 * resolves only once the shared COMMIT is done, so whoever awaited a transaction still
 * finds it committed. The COMMIT runs once the event loop has handled the I/O that was
 * ready (setImmediate), or at once when MAX_BATCH transactions wait for it. A COMMIT
 * writes each page it changed to the WAL: the DM messages of one batch change the same
 * session, index and queue pages, which a batch writes once instead of once per message,
 * and checkpoints come as much less often (bench/dm.ts). Any other transaction (the
 * campaign engine, the API) commits the batch under way before it begins and commits on
 * its own: it never reads what a DM message wrote before that message is committed, and
 * no DM reply waits for it. A batch still takes the write lock at BEGIN IMMEDIATE (another
 * process waits there, busy_timeout, instead of failing with SQLITE_BUSY_SNAPSHOT).
 *
 * A transaction that fails rolls its whole batch back, and the others of the batch, done
 * but not committed, reject with BatchRolledBack: their callers run them again
 * (dm/session/handle.ts). Failures are rare; a SAVEPOINT around each transaction, so one
 * could roll back alone, cost every message: every page it first touched was copied into
 * the sub-journal, which past 16 pages (SQLite's 64 KiB spill) became a temporary file,
 * two pwrite calls a page. Measured on bench:dm's session (callgrind, strace, and the time
 * of each statement): about 35,000 of some 220,000 SQLite instructions, 4 writes, and a
 * tenth of the time SQLite took.
 */
class GroupCommit {
  private static readonly MAX_BATCH = 64;
  private waiting: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  private open = false;
  private scheduled = false;
  /** The devices whose rows the batch's transactions wrote (one that failed included: it may have). */
  private readonly devices = new Set<string>();
  /** A transaction of the batch did not say whose rows it wrote. */
  private anyRows = false;
  /**
   * Prepared once: exec() compiles its SQL on every call, which cost as much as the
   * statements a DM message runs between them (bench/dm.ts).
   */
  private readonly control: Record<'begin' | 'commit' | 'rollback', Database.Statement>;

  constructor(
    private readonly db: Database.Database,
    /** Whether a transaction is under way (the COMMIT waits for it). */
    private readonly busy: () => boolean,
    /** Told of each COMMIT done. */
    private readonly committed: () => void,
  ) {
    this.control = {
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
    };
  }

  /** Whether the connection holds writes not committed yet. */
  isOpen(): boolean {
    return this.open;
  }

  /**
   * Whether the writes not committed yet, if any, leave the rows of `device` alone: every
   * transaction of the batch named its device (TransactionOptions.device), and none this one.
   */
  leavesAlone(device: string): boolean {
    return !this.open || (!this.anyRows && !this.devices.has(device));
  }

  /** Starts one transaction: a grouped one in the batch under way, if any; any other alone. */
  begin(grouped: boolean, device: string | undefined): void {
    if (this.open && !grouped) this.commitNow();
    if (!this.open) {
      this.control.begin.run();
      this.open = true;
      this.devices.clear();
      this.anyRows = false;
    }
    if (device === undefined) this.anyRows = true;
    else this.devices.add(device);
  }

  /**
   * The transaction failed: the batch is rolled back with it (unless SQLite did so itself:
   * SQLITE_FULL, SQLITE_IOERR), and the others of the batch are told to run again.
   */
  rollBack(err: unknown): void {
    this.open = false;
    if (this.db.inTransaction) this.control.rollback.run();
    // None wait when it began the batch.
    this.fail(new BatchRolledBack(err));
  }

  /** The transaction succeeded: resolves when the batch it is in has committed. */
  done(grouped: boolean): Promise<void> {
    const committed = new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    if (!grouped || this.waiting.length >= GroupCommit.MAX_BATCH) this.commitNow();
    else this.schedule();
    return committed;
  }

  /** Commits the batch under way, if any (the caller holds the write lock or knows it free). */
  commitNow(): void {
    if (!this.open) return;
    this.open = false;
    try {
      this.control.commit.run();
    } catch (err) {
      // SQLite rolls some failures back itself (SQLITE_FULL, an interrupted COMMIT).
      if (this.db.inTransaction) this.control.rollback.run();
      this.fail(err);
      return;
    }
    this.committed();
    const committed = this.waiting;
    this.waiting = [];
    for (const waiter of committed) waiter.resolve();
  }

  private fail(err: unknown): void {
    const lost = this.waiting;
    this.waiting = [];
    for (const waiter of lost) waiter.reject(err);
  }

  private schedule(): void {
    if (this.scheduled || !this.open) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      // A transaction under way schedules the COMMIT again when it ends.
      if (!this.busy()) this.commitNow();
    });
  }
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
