// A campaign's download bandwidth budget (bytes per second for the whole campaign, so a
// rollout cannot saturate a carrier link), enforced across its downloads in this process:
// one token bucket per campaign, shared by every download of its deployments. A download
// reserves each chunk's bytes and holds the chunk until the bucket has them, so
// the campaign's bytes leave at the budget's rate however many devices download at once;
// reservations are served in the order they were made, so downloads share it fairly.
// With several server processes each enforces the budget on its own downloads: the
// cluster serves up to (processes x budget); divide the budget accordingly (README).
import type { ByteSource } from './source.ts';

export interface BucketClock {
  /** Milliseconds, monotonic. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: BucketClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Tokens (bytes) accrue at `bytesPerSecond` up to `burstBytes`; take(n) resolves once n
 * bytes are available. Kept as the time when the bucket is next empty (a virtual
 * schedule), so a take costs O(1) and waiting downloads need no queue.
 */
export class TokenBucket {
  /** When everything reserved so far has been paid for (ms on the clock). */
  private paidUntil: number;

  constructor(
    readonly bytesPerSecond: number,
    readonly burstBytes: number,
    private readonly clock: BucketClock = realClock,
  ) {
    this.paidUntil = clock.now() - (burstBytes / bytesPerSecond) * 1000;
  }

  /** Reserves `bytes`; resolves when they may go out. */
  async take(bytes: number): Promise<void> {
    const now = this.clock.now();
    // Idle time fills the bucket, but never past the burst.
    this.paidUntil = Math.max(this.paidUntil, now - (this.burstBytes / this.bytesPerSecond) * 1000);
    this.paidUntil += (bytes / this.bytesPerSecond) * 1000;
    const wait = this.paidUntil - now;
    if (wait > 0) await this.clock.sleep(wait);
  }

  /**
   * Gives back bytes reserved but never sent (the client left while its chunk waited):
   * the later reservations move up, so a campaign whose devices often drop off still
   * gets its whole budget.
   */
  refund(bytes: number): void {
    this.paidUntil -= (bytes / this.bytesPerSecond) * 1000;
  }
}

/** A campaign's budget, as its download requests read it (store/queries/budgets.ts). */
export interface CampaignBudget {
  campaignId: string;
  bytesPerSecond: number;
}

export class CampaignBudgets {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    /** The bytes a download reads at a time (a bucket holds at least one chunk). */
    private readonly chunkBytes: number,
    private readonly clock: BucketClock = realClock,
  ) {}

  /**
   * The source as it is, or metered by its campaign's bucket. The budget is read per
   * request (with the deployment, serve.ts), so a changed budget applies to the next requests.
   */
  meter(budget: CampaignBudget | undefined, source: ByteSource): ByteSource {
    if (!budget) return source;
    const bucket = this.bucketFor(budget.campaignId, budget.bytesPerSecond);
    let waiting = 0;
    // No `file` (source.ts): a metered download is never handed to sendfile, which would
    // send past the bucket.
    return {
      async read() {
        // Charged for exactly what was read, and held back until the bucket has it: the
        // chunk (a view of a shared block) waits meanwhile, nothing more is read ahead.
        const chunk = await source.read();
        if (chunk === null) return null;
        waiting = chunk.length;
        await bucket.take(chunk.length);
        waiting = 0;
        return chunk;
      },
      async close() {
        // Closed while a chunk waited its turn: that chunk never goes out.
        if (waiting > 0) bucket.refund(waiting);
        waiting = 0;
        await source.close();
      },
    };
  }

  private bucketFor(campaignId: string, bytesPerSecond: number): TokenBucket {
    let bucket = this.buckets.get(campaignId);
    if (!bucket || bucket.bytesPerSecond !== bytesPerSecond) {
      // A tenth of a second's worth, and at least one chunk so a download can move at all.
      bucket = new TokenBucket(bytesPerSecond, Math.max(this.chunkBytes, bytesPerSecond / 10), this.clock);
      this.buckets.set(campaignId, bucket);
    }
    return bucket;
  }
}
