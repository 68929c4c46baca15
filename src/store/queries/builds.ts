// Build, package and job rows, and the queue operations on jobs. Every function is
// synchronous and meant to run inside one short transaction (better-sqlite3).
import { and, asc, count, desc, eq, inArray, isNotNull, lt, ne, or } from 'drizzle-orm';
import { builds, devices, jobs, models, packages } from '../schema/index.ts';
import type { Tx } from './audit.ts';

export type BuildRow = typeof builds.$inferSelect;
export type PackageRow = typeof packages.$inferSelect;
export type JobRow = typeof jobs.$inferSelect;

export function findBuild(tx: Tx, id: string): (BuildRow & { model: string; manufacturerId: string }) | undefined {
  const row = tx
    .select({ build: builds, model: models.name, manufacturerId: models.manufacturerId })
    .from(builds)
    .innerJoin(models, eq(models.id, builds.modelId))
    .where(eq(builds.id, id))
    .get();
  return row ? { ...row.build, model: row.model, manufacturerId: row.manufacturerId } : undefined;
}

/** The most recent builds of every model with the model's name, newest first (the console's list). */
export function listBuilds(tx: Tx, limit: number): Array<BuildRow & { model: string }> {
  return tx
    .select({ build: builds, model: models.name })
    .from(builds)
    .innerJoin(models, eq(models.id, builds.modelId))
    .orderBy(desc(builds.createdAt), desc(builds.id))
    .limit(limit)
    .all()
    .map((row) => ({ ...row.build, model: row.model }));
}

export function findBuildByVersion(tx: Tx, modelId: string, version: string): BuildRow | undefined {
  return tx.select().from(builds).where(and(eq(builds.modelId, modelId), eq(builds.version, version))).get();
}

export function insertBuild(tx: Tx, row: typeof builds.$inferInsert): void {
  tx.insert(builds).values(row).run();
}

/**
 * Earlier builds of a model a new build gets deltas from: the `recent` most recent ones
 * whose image is stored (processing or ready), plus every one whose version devices of
 * the model report running (the fleet census), so no live device gets only a full image.
 */
export function deltaSourcesFor(tx: Tx, model: { id: string; name: string }, newBuildId: string, recent: number): BuildRow[] {
  const usable = and(eq(builds.modelId, model.id), ne(builds.id, newBuildId), ne(builds.status, 'failed'));
  const latest = tx.select().from(builds).where(usable).orderBy(desc(builds.createdAt)).limit(recent).all();
  const census = tx
    .selectDistinct({ version: devices.firmwareVersion })
    .from(devices)
    .where(and(eq(devices.model, model.name), isNotNull(devices.firmwareVersion)))
    .all()
    .map((r) => r.version)
    .filter((v): v is string => v !== null);
  const running = census.length ? tx.select().from(builds).where(and(usable, inArray(builds.version, census))).all() : [];
  const byId = new Map([...latest, ...running].map((b) => [b.id, b]));
  return [...byId.values()];
}

export function packagesOf(tx: Tx, buildId: string): PackageRow[] {
  return tx.select().from(packages).where(eq(packages.buildId, buildId)).orderBy(asc(packages.createdAt)).all();
}

export function findPackage(tx: Tx, id: string): PackageRow | undefined {
  return tx.select().from(packages).where(eq(packages.id, id)).get();
}

export function insertJobs(tx: Tx, rows: Array<typeof jobs.$inferInsert>): void {
  if (rows.length) tx.insert(jobs).values(rows).run();
}

export function jobsOf(tx: Tx, buildId: string): JobRow[] {
  return tx.select().from(jobs).where(eq(jobs.buildId, buildId)).orderBy(asc(jobs.createdAt)).all();
}

/** Takes the oldest queued job, or one whose runner's lease ran out (it died). */
export function claimNextJob(tx: Tx, owner: string, now: number, leaseMs: number): JobRow | undefined {
  const next = tx
    .select()
    .from(jobs)
    // Not our own lapsed claims: we are still working on those and will renew them.
    .where(or(eq(jobs.state, 'queued'), and(eq(jobs.state, 'running'), lt(jobs.leaseUntil, now), ne(jobs.leaseOwner, owner))))
    .orderBy(asc(jobs.createdAt))
    .limit(1)
    .get();
  if (!next) return undefined;
  const claimed = { state: 'running' as const, leaseOwner: owner, leaseUntil: now + leaseMs, attempts: next.attempts + 1 };
  tx.update(jobs).set(claimed).where(eq(jobs.id, next.id)).run();
  return { ...next, ...claimed };
}

/** The job row if `owner` still holds its lease; a runner that lost it must not finish it. */
export function heldJob(tx: Tx, jobId: string, owner: string): JobRow | undefined {
  return tx.select().from(jobs).where(and(eq(jobs.id, jobId), eq(jobs.state, 'running'), eq(jobs.leaseOwner, owner))).get();
}

export function renewLease(tx: Tx, jobId: string, owner: string, until: number): boolean {
  const result = tx.update(jobs).set({ leaseUntil: until }).where(and(eq(jobs.id, jobId), eq(jobs.state, 'running'), eq(jobs.leaseOwner, owner))).run();
  return result.changes === 1;
}

export function insertPackage(tx: Tx, row: typeof packages.$inferInsert): void {
  tx.insert(packages).values(row).run();
}

export function finishJob(
  tx: Tx,
  jobId: string,
  result: { state: 'done' | 'failed' | 'queued'; packageId?: string; note?: string; error?: string; attempts?: number },
  now: number,
): void {
  tx.update(jobs)
    .set({
      ...(result.attempts === undefined ? {} : { attempts: result.attempts }),
      state: result.state,
      packageId: result.packageId ?? null,
      note: result.note ?? null,
      lastError: result.error ?? null,
      leaseOwner: null,
      leaseUntil: null,
      finishedAt: result.state === 'queued' ? null : now,
    })
    .where(eq(jobs.id, jobId))
    .run();
}

export function setBuildStatus(tx: Tx, buildId: string, status: BuildRow['status'], now: number, failureReason?: string): void {
  tx.update(builds)
    .set({ status, failureReason: failureReason ?? null, ...(status === 'ready' ? { readyAt: now } : {}) })
    .where(eq(builds.id, buildId))
    .run();
}

export function countJobsByState(tx: Tx): Record<JobRow['state'], number> {
  const counts = { queued: 0, running: 0, done: 0, failed: 0 };
  for (const row of tx.select({ state: jobs.state, n: count() }).from(jobs).groupBy(jobs.state).all()) counts[row.state] = row.n;
  return counts;
}
