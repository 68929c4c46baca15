// Removes the bytes of an upload whose row was never recorded (it lost the race for its
// version with a 409, or was refused after its bytes arrived), so a refused upload costs
// no storage. Objects are content-addressed: the same bytes may belong to another row,
// and then they stay.
import type { Context } from '../context.ts';
import { isArtifactReferenced } from '../store/queries/artifacts.ts';

/**
 * Returns whether the object was removed. Never throws: the caller is already reporting
 * a failure of its own, and `fota gc` removes what this could not.
 *
 * Not covered: another upload of the very same bytes that has stored them and not yet
 * recorded its row, in the same moment. Its row would name a missing object and its
 * package jobs would fail visibly; refusing ever to delete would leak every race instead.
 */
export async function discardUnreferenced(ctx: Pick<Context, 'db' | 'artifacts' | 'log'>, sha256: string): Promise<boolean> {
  try {
    if (await isArtifactReferenced(ctx.db, sha256)) return false;
    await ctx.artifacts.delete(sha256);
    ctx.log.info({ sha256 }, 'removed the bytes of an upload that was not recorded');
    return true;
  } catch (err) {
    ctx.log.warn({ err, sha256 }, 'could not remove the bytes of an upload that was not recorded; fota gc will');
    return false;
  }
}
