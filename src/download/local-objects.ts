// Where a package's object is in the local artifact directory, and its modified time (part
// of the block cache's key), checked with a stat at most once per STAT_EVERY_MS per object
// instead of on every request: the downloads in between use that answer, and requests that
// arrive while a stat is under way wait for it rather than start their own. So a file
// removed or rewritten in place is noticed within STAT_EVERY_MS (README); a missing file
// is never kept, and the next request looks again.
import type { Context } from '../context.ts';
import type { LocalCopy } from '../store/artifacts/artifact-store.ts';

/** How long one stat of an object answers for it. */
export const STAT_EVERY_MS = 1000;

interface Checked {
  copy: Promise<LocalCopy>;
  /** performance.now() when the stat was asked for. */
  at: number;
}

export class LocalObjects {
  private readonly checked = new Map<string, Checked>();

  constructor(private readonly ctx: Context) {}

  /** The object's LocalCopy (the local store makes no copy: release is a no-op), or NOT_FOUND as localCopy throws it. */
  find(sha256: string): Promise<LocalCopy> {
    const now = performance.now();
    const hit = this.checked.get(sha256);
    if (hit && now - hit.at < STAT_EVERY_MS) return hit.copy;
    const copy = this.ctx.artifacts.localCopy(sha256, this.ctx.workDir);
    const entry = { copy, at: now };
    this.checked.set(sha256, entry);
    // A failure (the file gone) is not kept; nor is an entry a newer one replaced.
    copy.catch(() => {
      if (this.checked.get(sha256) === entry) this.checked.delete(sha256);
    });
    // Objects of packages no longer downloaded do not pile up: stale entries go when the map grows.
    if (this.checked.size > 1024) for (const [key, value] of this.checked) if (now - value.at >= STAT_EVERY_MS) this.checked.delete(key);
    return copy;
  }
}
