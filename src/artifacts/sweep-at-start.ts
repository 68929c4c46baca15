// The garbage collection `fota serve` runs once at start, in the background, so orphans
// left while the server was down (or by a crash) do not wait for someone to run fota gc.
// Each removed object and a summary go to the log. It never fails the server: a problem
// is logged, and the server runs on without the sweep.
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { collectGarbage } from './collect-garbage.ts';

export interface RunningSweep {
  /** Stops the sweep at the next object and waits for it, so the database can close. */
  stop(): Promise<void>;
}

export function startArtifactSweep(ctx: Context): RunningSweep {
  const controller = new AbortController();
  const log = ctx.log.child({ task: 'artifact sweep' });
  const done = collectGarbage(ctx, {
    graceMs: ctx.config.gcGraceMs,
    signal: controller.signal,
    onRemove: (object) => log.info({ sha256: object.sha256, size: object.size }, 'removed an artifact no row references'),
  }).then(
    (report) => log.info({ removed: report.removed.length, bytes: report.removedBytes, referenced: report.referenced, young: report.young }, 'artifact sweep done'),
    (err: unknown) => {
      if (controller.signal.aborted) return;
      // A store and a database that do not belong together: a setting to fix, not a fault.
      if (err instanceof AppError && err.code === 'VALIDATION') log.warn({ reason: err.message }, 'artifact sweep skipped');
      else log.error({ err }, 'artifact sweep failed');
    },
  );
  return {
    async stop() {
      controller.abort();
      await done;
    },
  };
}
