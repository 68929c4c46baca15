// The durable job queue's runner. Jobs live in the database: a runner claims one with a
// lease, renews the lease while it works, and records the result in one transaction that
// first checks it still holds the lease. A runner that dies (crash, SIGKILL) stops
// renewing; its jobs are claimed again once the lease runs out, so each finishes once.
import { randomBytes } from 'node:crypto';
import type { Context } from '../../context.ts';
import { serialize } from '../../store/dialect.ts';
import { newId } from '../../store/ids.ts';
import { recordAudit } from '../../store/queries/audit.ts';
import { anyClaimableJob, claimNextJob, findBuild, finishJob, heldJob, insertPackage, jobsOf, type JobRow, renewLease, setBuildStatus } from '../../store/queries/builds.ts';
import type { Tx } from '../../store/store.ts';
import { SYSTEM_ACTOR } from '../../tokens/tokens.ts';
import { type JobOutcome, runPackageJob } from './package-job.ts';

export interface RunnerOptions {
  /** How long a claim holds without renewal; a dead runner's jobs wait this long. */
  leaseMs?: number;
  /** How often to look for work besides being woken (other processes may add jobs). */
  pollMs?: number;
  run?: typeof runPackageJob;
}

export class JobRunner {
  readonly owner = `runner_${randomBytes(6).toString('hex')}`;
  private readonly active = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly run: typeof runPackageJob;
  private poller: NodeJS.Timeout | undefined;
  private stopped = true;
  /** The claiming under way, if any; a wake meanwhile asks for another round after it. */
  private filling: Promise<void> | undefined;
  private fillAgain = false;

  constructor(
    private readonly ctx: Context,
    options: RunnerOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 30_000;
    this.pollMs = options.pollMs ?? 1_000;
    this.run = options.run ?? runPackageJob;
  }

  start(): void {
    this.stopped = false;
    this.poller = setInterval(() => this.fill(), this.pollMs);
    this.poller.unref();
    this.fill();
  }

  /** Call after queueing jobs so they start without waiting for the next poll. */
  wake(): void {
    this.fill();
  }

  get running(): number {
    return this.active.size;
  }

  /** Stops claiming; running jobs are aborted and handed back to the queue. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.poller) clearInterval(this.poller);
    // A claim under way may still start a job: it is aborted with the others.
    await this.filling;
    for (const { controller } of this.active.values()) controller.abort(new Error('server shutting down'));
    await Promise.all([...this.active.values()].map((a) => a.done));
  }

  /** Claims jobs until the pool is full or the queue empty, one round at a time. */
  private fill(): void {
    if (this.filling) {
      this.fillAgain = true;
      return;
    }
    this.filling = this.claimWhatFits()
      .catch((err: unknown) => this.ctx.log.error({ err }, 'claiming package jobs failed; the next poll tries again'))
      .finally(() => {
        this.filling = undefined;
        if (this.fillAgain && !this.stopped) {
          this.fillAgain = false;
          this.fill();
        }
      });
  }

  private async claimWhatFits(): Promise<void> {
    while (!this.stopped && this.active.size < this.ctx.pool.concurrency) {
      // Nothing to claim (the poll's usual answer): no write transaction.
      if (!(await anyClaimableJob(this.ctx.db, this.owner, this.ctx.clock.now()))) return;
      const job = await this.ctx.db.transaction((tx) => claimNextJob(tx, this.owner, this.ctx.clock.now(), this.leaseMs));
      if (!job) return;
      const controller = new AbortController();
      const done = this.execute(job, controller.signal).finally(() => {
        this.active.delete(job.id);
        this.fill();
      });
      this.active.set(job.id, { controller, done });
    }
  }

  private async execute(job: JobRow, signal: AbortSignal): Promise<void> {
    const log = this.ctx.log.child({ jobId: job.id, buildId: job.buildId, attempt: job.attempts });
    const renew = setInterval(() => {
      // A renewal that fails is retried at the next interval; the lease outlasts two of them.
      this.ctx.db
        .transaction((tx) => renewLease(tx, job.id, this.owner, this.ctx.clock.now() + this.leaseMs))
        .catch((err: unknown) => log.warn({ err }, 'package job lease not renewed'));
    }, Math.max(50, this.leaseMs / 3));
    const started = Date.now();
    try {
      log.info({ sourceBuildId: job.sourceBuildId }, 'package job started');
      const outcome = await this.run(this.ctx, job, signal);
      const recorded = await this.record(job, outcome);
      log.info({ ms: Date.now() - started, recorded, ...('note' in outcome ? { note: outcome.note } : { kind: outcome.package.kind, bytes: outcome.package.payloadSize }) }, 'package job finished');
    } catch (err) {
      if (signal.aborted) {
        await this.release(job);
        log.info('package job handed back to the queue');
      } else {
        await this.fail(job, err instanceof Error ? err.message : String(err));
        log.warn({ err }, 'package job failed');
      }
    } finally {
      clearInterval(renew);
    }
  }

  /** Records the outcome unless the lease was lost (another runner then owns the job). */
  private async record(job: JobRow, outcome: JobOutcome): Promise<boolean> {
    const now = this.ctx.clock.now();
    return this.ctx.db.transaction(async (tx) => {
      await takeTurnsOnBuild(tx, job.buildId);
      if (!(await heldJob(tx, job.id, this.owner))) return false;
      if ('package' in outcome) {
        const packageId = newId('pkg');
        await insertPackage(tx, { id: packageId, createdAt: now, ...outcome.package });
        await finishJob(tx, job.id, { state: 'done', packageId }, now);
        await recordAudit(tx, { actor: SYSTEM_ACTOR, action: 'package.create', subject: packageId, details: { buildId: job.buildId, kind: outcome.package.kind, from: outcome.package.fromVersion, to: outcome.package.toVersion } }, now);
      } else {
        await finishJob(tx, job.id, { state: 'done', note: outcome.note }, now);
      }
      await settleBuild(tx, job.buildId, now);
      return true;
    });
  }

  private async fail(job: JobRow, error: string): Promise<void> {
    const now = this.ctx.clock.now();
    const attempts = this.ctx.config.jobAttempts;
    await this.ctx.db.transaction(async (tx) => {
      await takeTurnsOnBuild(tx, job.buildId);
      if (!(await heldJob(tx, job.id, this.owner))) return;
      const final = job.attempts >= attempts;
      await finishJob(tx, job.id, { state: final ? 'failed' : 'queued', error }, now);
      if (final) {
        await recordAudit(tx, { actor: SYSTEM_ACTOR, action: 'job.fail', subject: job.id, details: { buildId: job.buildId, error, attempts: job.attempts } }, now);
        await settleBuild(tx, job.buildId, now);
      }
    });
  }

  /** Back to the queue without counting the attempt: stopping is not the job's fault. */
  private async release(job: JobRow): Promise<void> {
    const now = this.ctx.clock.now();
    await this.ctx.db.transaction(async (tx) => {
      if (!(await heldJob(tx, job.id, this.owner))) return;
      await finishJob(tx, job.id, { state: 'queued', attempts: job.attempts - 1 }, now);
    });
  }
}

/**
 * The transactions that record the jobs of one build run one at a time. Each settles the
 * build on the states of all its jobs: on PostgreSQL (read committed), two jobs recorded at
 * once would each see the other still running, and neither would make the build ready,
 * leaving it processing for good with every job done. Taken first, so what the previous
 * holder committed is seen.
 */
function takeTurnsOnBuild(tx: Tx, buildId: string): Promise<void> {
  return serialize(tx, `settle build ${buildId}`);
}

/** A build is ready when every job is done, failed as soon as one failed for good. */
async function settleBuild(tx: Tx, buildId: string, now: number): Promise<void> {
  const jobs = await jobsOf(tx, buildId);
  const failed = jobs.find((j) => j.state === 'failed');
  if (failed) {
    const source = failed.sourceBuildId ? await findBuild(tx, failed.sourceBuildId) : undefined;
    const what = source ? `the delta from ${source.version}` : failed.sourceBuildId ? `a delta from ${failed.sourceBuildId}` : 'the full package';
    await setBuildStatus(tx, buildId, 'failed', now, `${what} failed (job ${failed.id}): ${failed.lastError ?? 'unknown error'}`);
  }
  else if (jobs.every((j) => j.state === 'done')) await setBuildStatus(tx, buildId, 'ready', now);
}
