// Garbage collection of the artifact store: removes the objects no database row
// references, such as the image of an upload refused after its bytes arrived, or the
// .fota file of a package job that lost its lease. `fota gc` runs it on demand, and
// `fota serve` runs it once at start.
//
// It never removes:
// - an upload in progress: its bytes are staged (`.staging/`, `staging/`) and never listed;
// - an object stored moments before its row is written: only objects older than the
//   grace period are candidates, and a put of bytes already stored makes them new again;
// - anything when the store holds none of the objects the database references, or the
//   database references none while the store is not empty: then the store and the
//   database are not one server's (a wrong --data or --artifacts), and every object would
//   look like an orphan.
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import type { ObjectInfo } from '../store/artifacts/artifact-store.ts';
import { isArtifactReferenced, referencedArtifacts } from '../store/queries/artifacts.ts';

export interface GarbageOptions {
  /** Only objects stored longer ago than this are candidates (0: every unreferenced one). */
  graceMs: number;
  /** Reports what would be removed; removes nothing. */
  dryRun?: boolean;
  signal?: AbortSignal;
  /** Called for each object removed (in a dry run: that would be removed). */
  onRemove?: (object: ObjectInfo) => void;
}

export interface GarbageReport {
  removed: ObjectInfo[];
  removedBytes: number;
  /** Objects kept because a row references them. */
  referenced: number;
  /** Unreferenced objects kept because they are younger than the grace period. */
  young: number;
}

export type GarbageDeps = Pick<Context, 'db' | 'artifacts' | 'clock'>;

export async function collectGarbage(deps: GarbageDeps, options: GarbageOptions): Promise<GarbageReport> {
  const { graceMs, dryRun = false, signal, onRemove } = options;
  if (!Number.isFinite(graceMs) || graceMs < 0) throw new AppError('VALIDATION', `the grace period must be 0 or more milliseconds, got ${graceMs}`);
  // Anything stored after this moment is young whatever the grace period, so an upload
  // that stores its bytes during the sweep is never a candidate.
  const cutoff = deps.clock.now() - graceMs;
  const references = await referencedArtifacts(deps.db);
  const listed: ObjectInfo[] = [];
  for await (const object of deps.artifacts.list()) {
    signal?.throwIfAborted();
    listed.push(object);
  }
  assertOneServer(deps, references, listed);

  const report: GarbageReport = { removed: [], removedBytes: 0, referenced: 0, young: 0 };
  for (const object of listed) {
    signal?.throwIfAborted();
    if (references.has(object.sha256)) report.referenced += 1;
    else if (object.modifiedAt > cutoff) report.young += 1;
    else {
      const outcome = dryRun ? 'removed' : await removeIfStillGarbage(deps, object.sha256, cutoff);
      if (outcome === 'removed') {
        report.removed.push(object);
        report.removedBytes += object.size;
        onRemove?.(object);
      } else if (outcome !== 'gone') report[outcome] += 1;
    }
  }
  return report;
}

/**
 * Looks again just before removing, since the listing may be minutes old: a row written
 * or the same bytes put again in the meantime keep the object.
 */
async function removeIfStillGarbage(deps: GarbageDeps, sha256: string, cutoff: number): Promise<'removed' | 'referenced' | 'young' | 'gone'> {
  if (await isArtifactReferenced(deps.db, sha256)) return 'referenced';
  const now = await deps.artifacts.stat(sha256);
  if (now === null) return 'gone';
  if (now.modifiedAt > cutoff) return 'young';
  await deps.artifacts.delete(sha256);
  return 'removed';
}

function assertOneServer(deps: GarbageDeps, references: Set<string>, listed: ObjectInfo[]): void {
  if (listed.length === 0 || listed.some((object) => references.has(object.sha256))) return;
  const where = deps.artifacts.kind === 's3' ? 'the bucket (FOTA_S3_*)' : 'the artifact directory (--artifacts, FOTA_ARTIFACTS)';
  const why =
    references.size === 0
      ? `the database references no artifacts while ${where} holds ${listed.length}`
      : `${where} holds none of the ${references.size} artifacts the database references`;
  throw new AppError('VALIDATION', `${why}: the store and the database (--data/FOTA_DATA, or --database/FOTA_DATABASE_URL) do not look like one server's; nothing removed`);
}
