// Bytes served, written to the deployments as soon as each response is over, in group
// commits: the responses that end while a write is under way (or in the same turn of the
// event loop) share the next transaction instead of one each. No count waits on a timer:
// a device's next DM message (its download reported done) must not overtake the move to
// 'downloading' its bytes make, or the deployment's history would skip that state. A crash
// loses what was pending then, as before: the counts of responses that had just ended.
import type { Context } from '../context.ts';
import { addBytesServed } from '../store/queries/deployments.ts';

export class ServedLedger {
  /** Bytes per deployment not yet written. */
  private pending = new Map<string, number>();
  /** A write is asked for (setImmediate) or under way: later counts wait for the next one. */
  private scheduled = false;
  /** The write under way, or a settled promise. */
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: Context) {}

  /** Counts `bytes` sent for the deployment: written with the next group commit. */
  add(deploymentId: string, bytes: number): void {
    if (bytes <= 0) return;
    this.pending.set(deploymentId, (this.pending.get(deploymentId) ?? 0) + bytes);
    if (this.scheduled) return;
    this.scheduled = true;
    // After the other responses this turn of the loop closes, so they share the transaction.
    setImmediate(() => {
      this.writing = this.writing.then(() => this.writePending());
    });
  }

  /** Resolves once everything added so far is written (or logged as lost): for a graceful stop. */
  async settle(): Promise<void> {
    while (this.scheduled || this.pending.size > 0) {
      await this.writing;
      // A write asked for but not started yet (setImmediate): let it start.
      if (this.scheduled) await new Promise((resolve) => setImmediate(resolve));
    }
    await this.writing;
  }

  private async writePending(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    this.scheduled = false;
    if (batch.size === 0) return;
    await this.write(batch);
    // Counts added while this write ran: the next write, at once.
    if (this.pending.size > 0 && !this.scheduled) {
      this.scheduled = true;
      this.writing = this.writing.then(() => this.writePending());
    }
  }

  /**
   * One short transaction. The responses are over, so a failure is logged rather than
   * thrown: there is no one left to tell. Rows are written in id order, so two processes
   * writing overlapping batches on PostgreSQL take their row locks in the same order.
   */
  private async write(batch: Map<string, number>): Promise<void> {
    const entries = [...batch].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    try {
      const now = this.ctx.clock.now();
      const gone = await this.ctx.db.transaction(async (tx) => {
        const missing: string[] = [];
        for (const [deploymentId, bytes] of entries) {
          if (!(await addBytesServed(tx, deploymentId, bytes, now, { moveToDownloading: true }))) missing.push(deploymentId);
        }
        return missing;
      });
      for (const deploymentId of gone) this.ctx.log.warn({ deploymentId, bytes: batch.get(deploymentId) }, 'bytes served for a deployment that no longer exists');
    } catch (err) {
      this.ctx.log.error({ err, deployments: entries.length, bytes: entries.reduce((sum, [, bytes]) => sum + bytes, 0) }, 'cannot record bytes served');
    }
  }
}
