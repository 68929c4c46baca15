// Bytes served, written to the deployments in group commits. The bytes that may move a
// deployment to 'downloading' (it was 'scheduled' or 'commanded' when its request came) are
// written as soon as their response is over: the responses that end while a write is under
// way (or in the same turn of the event loop) share the next transaction. They never wait
// on a timer: a device's next DM message (its download reported done) must not overtake
// that move, or the deployment's history would skip the state. The counts of a deployment
// already past it change nothing but the number, and wait up to COUNT_WAIT_MS for others:
// a server sending a package to many devices writes their counts a few times a second,
// not once per response (each a transaction, some 4% of its CPU in bench:download). A
// count is written at once when nothing was written for that long. A crash loses what was
// pending then: the counts of the responses that ended in the last COUNT_WAIT_MS.
import type { Context } from '../context.ts';
import { addBytesServed } from '../store/queries/deployments.ts';

/** The longest a count of a deployment already downloading waits for others to share its write. */
export const COUNT_WAIT_MS = 100;

/**
 * 'moves': the bytes may move the deployment to 'downloading' (written at once); 'counts':
 * they only add to its count, and never move it: a deployment that was past 'downloading'
 * when the request came and is back before it by the time they are written (a two-step
 * download reported, a retry scheduled) did not start downloading again with these bytes.
 */
export type Urgency = 'moves' | 'counts';

interface Pending {
  bytes: number;
  moves: boolean;
}

export class ServedLedger {
  /** Bytes per deployment not yet written, and whether they may move it to 'downloading'. */
  private pending = new Map<string, Pending>();
  /** A write is asked for (setImmediate) or under way: later counts wait for the next one. */
  private scheduled = false;
  /** A write asked for once counts have waited COUNT_WAIT_MS (only while none is scheduled). */
  private timer: NodeJS.Timeout | undefined;
  /** When the last write began (performance.now()). */
  private lastWrite = -Infinity;
  /** The write under way, or a settled promise. */
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: Context) {}

  /** Counts `bytes` sent for the deployment: written with the next group commit, at once or within COUNT_WAIT_MS. */
  add(deploymentId: string, bytes: number, urgency: Urgency): void {
    if (bytes <= 0) return;
    const entry = this.pending.get(deploymentId);
    if (entry) {
      entry.bytes += bytes;
      entry.moves ||= urgency === 'moves';
    } else this.pending.set(deploymentId, { bytes, moves: urgency === 'moves' });
    if (this.scheduled) return;
    const wait = urgency === 'moves' ? 0 : this.lastWrite + COUNT_WAIT_MS - performance.now();
    if (wait > 0) {
      this.timer ??= setTimeout(() => this.schedule(), wait);
      return;
    }
    this.schedule();
  }

  /** Asks for the next write: after the other responses this turn of the loop closes, so they share the transaction. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    setImmediate(() => {
      this.writing = this.writing.then(() => this.writePending());
    });
  }

  /** Resolves once everything added so far is written (or logged as lost): for a graceful stop. */
  async settle(): Promise<void> {
    while (this.scheduled || this.pending.size > 0) {
      // Counts waiting on their timer are written now.
      if (!this.scheduled) this.schedule();
      await this.writing;
      // A write asked for but not started yet (setImmediate): let it start.
      if (this.scheduled) await new Promise((resolve) => setImmediate(resolve));
    }
    await this.writing;
  }

  private async writePending(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    this.lastWrite = performance.now();
    this.scheduled = false;
    if (batch.size === 0) return;
    // Counts added while this write runs ask for the next one themselves (add()): at once, or on their timer.
    await this.write(batch);
  }

  /**
   * One short transaction. The responses are over, so a failure is logged rather than
   * thrown: there is no one left to tell. Rows are written in id order, so two processes
   * writing overlapping batches on PostgreSQL take their row locks in the same order.
   */
  private async write(batch: Map<string, Pending>): Promise<void> {
    const entries = [...batch].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    try {
      const now = this.ctx.clock.now();
      const gone = await this.ctx.db.transaction(async (tx) => {
        const missing: string[] = [];
        for (const [deploymentId, { bytes, moves }] of entries) {
          if (!(await addBytesServed(tx, deploymentId, bytes, now, { moveToDownloading: moves }))) missing.push(deploymentId);
        }
        return missing;
      });
      for (const deploymentId of gone) this.ctx.log.warn({ deploymentId, bytes: batch.get(deploymentId)?.bytes }, 'bytes served for a deployment that no longer exists');
    } catch (err) {
      this.ctx.log.error({ err, deployments: entries.length, bytes: entries.reduce((sum, [, { bytes }]) => sum + bytes, 0) }, 'cannot record bytes served');
    }
  }
}
