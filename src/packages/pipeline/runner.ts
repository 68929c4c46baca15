// The durable job queue's runner. Jobs live in the database: a runner claims one with a
// lease, renews the lease while it works, and records the result in one transaction that
// first checks it still holds the lease. A runner that dies (crash, SIGKILL) stops
// renewing; its jobs are claimed again once the lease runs out, so each finishes once.
import { randomBytes } from 'node:crypto';
import type { Context } from '../../context.ts';
import { IMMEDIATE } from '../../store/db.ts';
import { newId } from '../../store/ids.ts';
import { recordAudit, type Tx } from '../../store/queries/audit.ts';
import { claimNextJob, findBuild, finishJob, heldJob, insertPackage, jobsOf, type JobRow, renewLease, setBuildStatus } from '../../store/queries/builds.ts';
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
    this.poller = setInterval(() => this.poll(), this.pollMs);
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
    for (const { controller } of this.active.values()) controller.abort(new Error('server shutting down'));
    await Promise.all([...this.active.values()].map((a) => a.done));
  }

  /** A poll that fails (a database busy past its timeout) is logged; the next one tries again. */
  private poll(): void {
    try {
      this.fill();
    } catch (err) {
      this.ctx.log.error({ err }, 'looking for package jobs failed');
    }
  }

  private fill(): void {
    while (!this.stopped && this.active.size < this.ctx.pool.concurrency) {
      // IMMEDIATE: with several processes on one SQLite file, a claim that read the queue
      // and then found another process had written since would fail (SQLITE_BUSY_SNAPSHOT)
      // instead of waiting its turn.
      const job = this.ctx.db.transaction((tx) => claimNextJob(tx, this.owner, this.ctx.clock.now(), this.leaseMs), IMMEDIATE);
      if (!job) return;
      const controller = new AbortController();
      const done = this.execute(job, controller.signal).finally(() => {
        this.active.delete(job.id);
        this.poll();
      });
      this.active.set(job.id, { controller, done });
    }
  }

  private async execute(job: JobRow, signal: AbortSignal): Promise<void> {
    const log = this.ctx.log.child({ jobId: job.id, buildId: job.buildId, attempt: job.attempts });
    const renew = setInterval(() => {
      renewLease(this.ctx.db, job.id, this.owner, this.ctx.clock.now() + this.leaseMs);
    }, Math.max(50, this.leaseMs / 3));
    const started = Date.now();
    try {
      log.info({ sourceBuildId: job.sourceBuildId }, 'package job started');
      const outcome = await this.run(this.ctx, job, signal);
      const recorded = this.record(job, outcome);
      log.info({ ms: Date.now() - started, recorded, ...('note' in outcome ? { note: outcome.note } : { kind: outcome.package.kind, bytes: outcome.package.payloadSize }) }, 'package job finished');
    } catch (err) {
      if (signal.aborted) {
        this.release(job);
        log.info('package job handed back to the queue');
      } else {
        this.fail(job, err instanceof Error ? err.message : String(err));
        log.warn({ err }, 'package job failed');
      }
    } finally {
      clearInterval(renew);
    }
  }

  /** Records the outcome unless the lease was lost (another runner then owns the job). */
  private record(job: JobRow, outcome: JobOutcome): boolean {
    const now = this.ctx.clock.now();
    return this.ctx.db.transaction((tx) => {
      if (!heldJob(tx, job.id, this.owner)) return false;
      if ('package' in outcome) {
        const packageId = newId('pkg');
        insertPackage(tx, { id: packageId, createdAt: now, ...outcome.package });
        finishJob(tx, job.id, { state: 'done', packageId }, now);
        recordAudit(tx, { actor: SYSTEM_ACTOR, action: 'package.create', subject: packageId, details: { buildId: job.buildId, kind: outcome.package.kind, from: outcome.package.fromVersion, to: outcome.package.toVersion } }, now);
      } else {
        finishJob(tx, job.id, { state: 'done', note: outcome.note }, now);
      }
      settleBuild(tx, job.buildId, now);
      return true;
    }, IMMEDIATE);
  }

  private fail(job: JobRow, error: string): void {
    const now = this.ctx.clock.now();
    this.ctx.db.transaction((tx) => {
      if (!heldJob(tx, job.id, this.owner)) return;
      const final = job.attempts >= this.ctx.config.jobAttempts;
      finishJob(tx, job.id, { state: final ? 'failed' : 'queued', error }, now);
      if (final) {
        recordAudit(tx, { actor: SYSTEM_ACTOR, action: 'job.fail', subject: job.id, details: { buildId: job.buildId, error, attempts: job.attempts } }, now);
        settleBuild(tx, job.buildId, now);
      }
    }, IMMEDIATE);
  }

  /** Back to the queue without counting the attempt: stopping is not the job's fault. */
  private release(job: JobRow): void {
    this.ctx.db.transaction((tx) => {
      if (!heldJob(tx, job.id, this.owner)) return;
      finishJob(tx, job.id, { state: 'queued', attempts: job.attempts - 1 }, this.ctx.clock.now());
    }, IMMEDIATE);
  }
}

/** A build is ready when every job is done, failed as soon as one failed for good. */
function settleBuild(tx: Tx, buildId: string, now: number): void {
  const jobs = jobsOf(tx, buildId);
  const failed = jobs.find((j) => j.state === 'failed');
  if (failed) {
    const source = failed.sourceBuildId ? findBuild(tx, failed.sourceBuildId) : undefined;
    const what = source ? `the delta from ${source.version}` : failed.sourceBuildId ? `a delta from ${failed.sourceBuildId}` : 'the full package';
    setBuildStatus(tx, buildId, 'failed', now, `${what} failed (job ${failed.id}): ${failed.lastError ?? 'unknown error'}`);
  }
  else if (jobs.every((j) => j.state === 'done')) setBuildStatus(tx, buildId, 'ready', now);
}
