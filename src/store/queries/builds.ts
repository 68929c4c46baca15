// Build, package and job rows, and the queue operations on jobs. Each function runs in
// the caller's transaction (or reads through the store outside one).
import { and, asc, count, desc, eq, inArray, isNotNull, lt, ne, or, type Placeholder, type SQL, sql } from 'drizzle-orm';
import type { builds, jobs, packages } from '../schema/index.ts';
import { forUpdate } from '../dialect.ts';
import type { Tables, Tx } from '../store.ts';
import type { SQLiteInsertValue } from 'drizzle-orm/sqlite-core';
import { asSet, preparedWrites } from './prepared-writes.ts';
import { preparedPer, preparedRead } from './prepared.ts';

export type BuildRow = typeof builds.$inferSelect;
export type PackageRow = typeof packages.$inferSelect;
export type JobRow = typeof jobs.$inferSelect;

export async function findBuild(tx: Tx, id: string): Promise<(BuildRow & { model: string; manufacturerId: string }) | undefined> {
  const { builds, models } = tx.t;
  const [row] = await tx.q
    .select({ build: builds, model: models.name, manufacturerId: models.manufacturerId })
    .from(builds)
    .innerJoin(models, eq(models.id, builds.modelId))
    .where(eq(builds.id, id));
  return row ? { ...row.build, model: row.model, manufacturerId: row.manufacturerId } : undefined;
}

/** The most recent builds of every model with the model's name, newest first (the console's list). */
export async function listBuilds(tx: Tx, limit: number): Promise<Array<BuildRow & { model: string }>> {
  const { builds, models } = tx.t;
  const rows = await tx.q
    .select({ build: builds, model: models.name })
    .from(builds)
    .innerJoin(models, eq(models.id, builds.modelId))
    .orderBy(desc(builds.createdAt), desc(builds.id))
    .limit(limit);
  return rows.map((row) => ({ ...row.build, model: row.model }));
}

// Prepared once, as the other reads of an upload (upload.ts): building each query in
// drizzle and compiling it in SQLite took about a tenth of a 10 MB upload's event loop
// time (bench:pipeline).
const buildByVersion = preparedRead(({ q, t: { builds } }) =>
  q
    .select()
    .from(builds)
    .where(and(eq(builds.modelId, sql.placeholder('modelId')), eq(builds.version, sql.placeholder('version'))))
    .prepare(),
);

export async function findBuildByVersion(tx: Tx, modelId: string, version: string): Promise<BuildRow | undefined> {
  return (await buildByVersion(tx).execute({ modelId, version }))[0];
}

// Prepared once per shape (prepared-writes.ts), as the inserts of jobs below: every upload
// writes a build and its jobs, and building each insert in drizzle and compiling it in
// SQLite was a fifth of a small upload's event loop time (bench:pipeline). A column left
// out takes the schema's default, as with drizzle's builder.
const buildInsert = preparedWrites(({ q, t }, columns) => q.insert(t.builds).values(asSet<SQLiteInsertValue<Tables['builds']>>(columns)).prepare());

export async function insertBuild(tx: Tx, row: typeof builds.$inferInsert): Promise<void> {
  await buildInsert(tx, row).execute(row);
}

const latestUsable = preparedRead(({ q, t: { builds } }) =>
  q
    .select()
    .from(builds)
    .where(and(eq(builds.modelId, sql.placeholder('modelId')), ne(builds.id, sql.placeholder('newBuildId')), ne(builds.status, 'failed')))
    .orderBy(desc(builds.createdAt))
    .limit(sql.placeholder('recent'))
    .prepare(),
);

const versionsRunning = preparedRead(({ q, t: { devices } }) =>
  q
    .selectDistinct({ version: devices.firmwareVersion })
    .from(devices)
    .where(and(eq(devices.model, sql.placeholder('model')), isNotNull(devices.firmwareVersion)))
    .prepare(),
);

/**
 * Earlier builds of a model a new build gets deltas from: the `recent` most recent ones
 * whose image is stored (processing or ready), plus every one whose version devices of
 * the model report running (the fleet census), so no live device gets only a full image.
 */
export async function deltaSourcesFor(tx: Tx, model: { id: string; name: string }, newBuildId: string, recent: number): Promise<BuildRow[]> {
  const { builds, devices } = tx.t;
  const usable = and(eq(builds.modelId, model.id), ne(builds.id, newBuildId), ne(builds.status, 'failed'));
  const latest = await latestUsable(tx).execute({ modelId: model.id, newBuildId, recent });
  const census = (await versionsRunning(tx).execute({ model: model.name }))
    .map((r) => r.version)
    .filter((v): v is string => v !== null);
  const running = census.length ? await tx.q.select().from(builds).where(and(usable, inArray(builds.version, census))) : [];
  const byId = new Map([...latest, ...running].map((b) => [b.id, b]));
  return [...byId.values()];
}

export async function packagesOf(tx: Tx, buildId: string): Promise<PackageRow[]> {
  const { packages } = tx.t;
  return tx.q.select().from(packages).where(eq(packages.buildId, buildId)).orderBy(asc(packages.createdAt));
}

const packageChoices = preparedPer(({ q, t }) =>
  q
    .select({ id: t.packages.id, kind: t.packages.kind, fromVersion: t.packages.fromVersion, toVersion: t.packages.toVersion })
    .from(t.packages)
    .where(eq(t.packages.buildId, sql.placeholder('buildId')))
    .prepare(),
);

/** What choosing a build's package for a device needs (deployments/policy.ts), read per FUMO command: prepared. */
export async function packageChoicesOf(tx: Tx, buildId: string): Promise<Array<{ id: string; kind: 'bsdiff40' | 'full'; fromVersion: string | null; toVersion: string }>> {
  return packageChoices(tx).execute({ buildId });
}

// Prepared once: every download looks its package up (bench:download).
const packageById = preparedRead(({ q, t }) => q.select().from(t.packages).where(eq(t.packages.id, sql.placeholder('id'))).prepare());

export async function findPackage(tx: Tx, id: string): Promise<PackageRow | undefined> {
  return (await packageById(tx).execute({ id }))[0];
}

const jobInsert = preparedWrites(({ q, t }, columns) => q.insert(t.jobs).values(asSet<SQLiteInsertValue<Tables['jobs']>>(columns)).prepare());

/** One prepared insert per row: a build has a handful of jobs (the full image and its deltas). */
export async function insertJobs(tx: Tx, rows: Array<typeof jobs.$inferInsert>): Promise<void> {
  for (const row of rows) await jobInsert(tx, row).execute(row);
}

export async function jobsOf(tx: Tx, buildId: string): Promise<JobRow[]> {
  const { jobs } = tx.t;
  return tx.q.select().from(jobs).where(eq(jobs.buildId, buildId)).orderBy(asc(jobs.createdAt));
}

/** Jobs a runner may claim: queued, or running on a lease that ran out. Not `owner`'s own lapsed claims: it is still working on those and will renew them. */
function claimable(t: typeof jobs, owner: string | Placeholder, now: number | Placeholder): SQL | undefined {
  return or(eq(t.state, 'queued'), and(eq(t.state, 'running'), lt(t.leaseUntil, now), ne(t.leaseOwner, owner)));
}

// Prepared once: every runner asks every second (pollMs), in every server process.
const claimableJob = preparedRead(({ q, t: { jobs } }) =>
  q.select({ id: jobs.id }).from(jobs).where(claimable(jobs, sql.placeholder('owner'), sql.placeholder('now'))).limit(1).prepare(),
);

/**
 * Whether claimNextJob would find a job now: one indexed read outside any transaction, so
 * a runner polling an empty queue opens no write transaction (a BEGIN IMMEDIATE and a
 * COMMIT every second, and the query built anew each time). The claim itself decides.
 */
export async function anyClaimableJob(tx: Tx, owner: string, now: number): Promise<boolean> {
  return (await claimableJob(tx).execute({ owner, now })).length > 0;
}

/**
 * Takes the oldest queued job, or one whose runner's lease ran out (it died). The job read
 * is locked for the claim (forUpdate), and concurrent claimers skip each other's.
 */
export async function claimNextJob(tx: Tx, owner: string, now: number, leaseMs: number): Promise<JobRow | undefined> {
  const { jobs } = tx.t;
  const [next] = await forUpdate(
    tx,
    tx.q
      .select()
      .from(jobs)
      .where(claimable(jobs, owner, now))
      .orderBy(asc(jobs.createdAt))
      .limit(1),
    { skipLocked: true },
  );
  if (!next) return undefined;
  const claimed = { state: 'running' as const, leaseOwner: owner, leaseUntil: now + leaseMs, attempts: next.attempts + 1 };
  await tx.q.update(jobs).set(claimed).where(eq(jobs.id, next.id));
  return { ...next, ...claimed };
}

/**
 * The job row if `owner` still holds its lease; a runner that lost it must not finish it.
 * Locked (forUpdate) until the caller's transaction records the result, so no claim takes
 * the job in between.
 */
export async function heldJob(tx: Tx, jobId: string, owner: string): Promise<JobRow | undefined> {
  const { jobs } = tx.t;
  const [row] = await forUpdate(tx, tx.q.select().from(jobs).where(and(eq(jobs.id, jobId), eq(jobs.state, 'running'), eq(jobs.leaseOwner, owner))));
  return row;
}

export async function renewLease(tx: Tx, jobId: string, owner: string, until: number): Promise<boolean> {
  const { jobs } = tx.t;
  const renewed = await tx.q
    .update(jobs)
    .set({ leaseUntil: until })
    .where(and(eq(jobs.id, jobId), eq(jobs.state, 'running'), eq(jobs.leaseOwner, owner)))
    .returning({ id: jobs.id });
  return renewed.length === 1;
}

export async function insertPackage(tx: Tx, row: typeof packages.$inferInsert): Promise<void> {
  await tx.q.insert(tx.t.packages).values(row);
}

export async function finishJob(
  tx: Tx,
  jobId: string,
  result: { state: 'done' | 'failed' | 'queued'; packageId?: string; note?: string; error?: string; attempts?: number },
  now: number,
): Promise<void> {
  const { jobs } = tx.t;
  await tx.q
    .update(jobs)
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
    .where(eq(jobs.id, jobId));
}

export async function setBuildStatus(tx: Tx, buildId: string, status: BuildRow['status'], now: number, failureReason?: string): Promise<void> {
  const { builds } = tx.t;
  await tx.q
    .update(builds)
    .set({ status, failureReason: failureReason ?? null, ...(status === 'ready' ? { readyAt: now } : {}) })
    .where(eq(builds.id, buildId));
}

export async function countJobsByState(tx: Tx): Promise<Record<JobRow['state'], number>> {
  const { jobs } = tx.t;
  const counts = { queued: 0, running: 0, done: 0, failed: 0 };
  for (const row of await tx.q.select({ state: jobs.state, n: count() }).from(jobs).groupBy(jobs.state)) counts[row.state] = row.n;
  return counts;
}
