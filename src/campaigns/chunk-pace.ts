// Bulk work (a campaign's start, a stage's scheduling) runs a chunk at a time with the
// event loop free in between, and a chunk holds the loop (and SQLite's writer) while it
// runs. A fixed number of rows per chunk holds it for very different times: a row of a
// small stage costs several times one of a large stage (its rows are spread over the
// table and its indexes). So chunks are sized by time: each chunk's duration gives the
// rate of the next, which takes as many rows as fit in PACE_MS. Requests then wait at most
// about that long behind bulk work (bench:campaign, the probe's latency and the longest
// stretch). The duration is the process's CPU time, not the wall clock: a chunk is
// synchronous, so on an idle core the two agree, but on a loaded machine the wall clock
// counts time the process waited for a CPU, and paced by it chunks shrank to a few
// hundred rows and a start of a million devices took three times the CPU (more
// transactions, COMMITs and checkpoints) without anyone waiting less.

import type { Store, Tx } from '../store/store.ts';

/** How long one chunk of bulk work may hold the event loop. */
export const PACE_MS = 45;

export interface PaceLimits {
  /** Rows of the first chunk, before any was timed. */
  first: number;
  /** Never fewer (the work must end, however loaded the machine). */
  min: number;
  /** Never more. */
  max: number;
}

/** A clock for a chunk's duration: the CPU time this process spent since `start()`, in ms. */
export function cpuTimer(): () => number {
  const start = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1000;
  };
}

export class ChunkPace {
  private rows: number;

  constructor(
    private readonly limits: PaceLimits,
    private readonly targetMs: number = PACE_MS,
  ) {
    this.rows = limits.first;
  }

  /** Rows the next chunk takes. */
  get size(): number {
    return this.rows;
  }

  /**
   * A chunk of `rows` rows took `ms`: the next one takes what fits in the target at that
   * rate. It shrinks at once but grows by half at most, so one fast chunk (rows found
   * cached) does not make the next one long. Chunks of fewer than `min` rows (a stage's
   * last) say little about the rate and are not counted.
   */
  took(rows: number, ms: number): void {
    if (rows < this.limits.min) return;
    const fit = (this.targetMs * rows) / Math.max(ms, 0.1);
    this.rows = Math.round(Math.max(this.limits.min, Math.min(this.limits.max, fit, this.rows * 1.5)));
  }

  /**
   * One chunk: `work` on up to `size` rows in a bulk transaction of its own, timed from its
   * first statement to its COMMIT (what holds the event loop, not the wait for the writer)
   * for the next chunk's size; `rowsOf` says how many rows it took.
   */
  async inTransaction<T>(store: Store, work: (tx: Tx, limit: number) => Promise<T>, rowsOf: (result: T, limit: number) => number): Promise<T> {
    const limit = this.rows;
    let elapsed = cpuTimer();
    const result = await store.transaction((tx) => {
      elapsed = cpuTimer();
      return work(tx, limit);
    }, { bulk: true });
    this.took(rowsOf(result, limit), elapsed());
    return result;
  }
}
