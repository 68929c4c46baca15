// WAL checkpoints of the SQLite file on a thread of their own. Left to SQLite, a checkpoint
// runs inside the COMMIT that crosses wal_autocheckpoint pages and holds the event loop
// while it copies them into the database file and syncs it: under DM load on a busy disk,
// COMMITs of 60-130 ms (bench/dm.ts, --cpu-prof), every request queued behind them. Here a
// worker thread with a connection of its own runs a PASSIVE checkpoint (it never waits for,
// nor blocks, the writer or a reader) every `everyCommits` commits of this process, well
// before the writer's own autocheckpoint is due. That one stays as the backstop, and finds
// the pages already copied. The thread starts at the first checkpoint asked for, so a
// process that commits little (a CLI command, most tests) never pays for it.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export interface Checkpointer {
  /** Counts one commit; asks for a checkpoint every `everyCommits` of them (none while one runs). */
  committed(): void;
  /**
   * A commit that wrote many pages (bulk work: a campaign's start or stage, a chunk at a
   * time): a checkpoint is asked for at once, or at the next commit when one is under way,
   * so the WAL never grows to the writer's autocheckpoint, which would copy it inside a
   * COMMIT on the event loop (bench:campaign: COMMITs of 170-410 ms every few chunks).
   */
  bulkCommitted(): void;
  /** Stops the thread (and its connection), after the checkpoint under way, if any. */
  close(): Promise<void>;
}

export interface CheckpointerOptions {
  everyCommits: number;
  onError: (message: string) => void;
  /** Called once each checkpoint has finished (tests wait for it). */
  onCheckpoint?: () => void;
}

// Plain CommonJS evaluated in the worker: nothing to compile when the server runs from source.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  let error;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    error = String(err && err.message ? err.message : err);
  }
  parentPort.postMessage({ error });
});
`;

export function walCheckpointer(file: string, options: CheckpointerOptions): Checkpointer {
  let worker: Worker | undefined;
  let commits = 0;
  let running = false;
  let closed = false;
  let exited = false;

  const start = (): Worker => {
    const started = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver: createRequire(import.meta.url).resolve('better-sqlite3') } });
    started.on('message', (reply: { error?: string }) => {
      running = false;
      // Idle again: the thread no longer keeps the process alive (close() holds it itself).
      if (!closed) started.unref();
      // Once the store is closed nothing is asked of the thread, and what it says is no
      // news: its files may be gone already (a test removing its folder, a shut-down server).
      if (reply.error !== undefined && !closed) options.onError(reply.error);
      options.onCheckpoint?.();
    });
    started.on('error', (err) => {
      // The thread is gone: SQLite's own checkpoint (the writer's wal_autocheckpoint) takes over.
      running = true;
      if (!closed) options.onError(err.message);
    });
    started.once('exit', () => {
      exited = true;
    });
    // A CLI command that committed enough to start it must still exit when it is done.
    // Unref'd last: on Node 20 a 'message' listener added after unref() refs the port again.
    started.unref();
    return started;
  };

  const askIfDue = (): void => {
    if (closed || running || commits < options.everyCommits) return;
    commits = 0;
    running = true;
    worker ??= start();
    // Held while it runs, so a command that exits right after its last commit lets the
    // checkpoint it asked for finish first (unref'd, the process could end before the reply).
    worker.ref();
    worker.postMessage('checkpoint');
  };

  return {
    committed() {
      commits += 1;
      askIfDue();
    },
    bulkCommitted() {
      commits = Math.max(commits + 1, options.everyCommits);
      askIfDue();
    },
    async close() {
      closed = true;
      const stopping = worker;
      worker = undefined;
      if (!stopping || exited) return;
      const gone = new Promise<void>((resolve) => stopping.once('exit', () => resolve()));
      // Unref'd, the thread would not keep the process alive while close() waits for it: a
      // command awaiting close() at its top level would end there unsettled (exit code 13).
      stopping.ref();
      // Messages are handled in order: a checkpoint under way finishes before the connection closes.
      stopping.postMessage('close');
      await gone;
    },
  };
}
