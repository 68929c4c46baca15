// Where a package's object is in the local artifact directory, and its modified time (part
// of the block cache's key, so a file rewritten in place is read afresh): one stat per
// request, except that requests arriving while a stat of the same object is under way
// share its answer instead of starting their own (a hundred devices starting together).
// A stat that has finished answers no later request: what is served follows the file on
// disk as of the request, as tests of a file damaged in place require.
import type { Context } from '../context.ts';
import type { LocalCopy } from '../store/artifacts/artifact-store.ts';

export class LocalObjects {
  /** Stats under way, by object. */
  private readonly inFlight = new Map<string, Promise<LocalCopy>>();

  constructor(private readonly ctx: Context) {}

  /** The object's LocalCopy (the local store makes no copy: release is a no-op), or NOT_FOUND as localCopy throws it. */
  find(sha256: string): Promise<LocalCopy> {
    const pending = this.inFlight.get(sha256);
    if (pending) return pending;
    const copy = this.ctx.artifacts.localCopy(sha256, this.ctx.workDir);
    this.inFlight.set(sha256, copy);
    const done = () => {
      if (this.inFlight.get(sha256) === copy) this.inFlight.delete(sha256);
    };
    copy.then(done, done);
    return copy;
  }
}
