// Release rows (builds offered to a cohort for updates devices ask for), and the few reads a
// device's request makes: the model's offered releases with their builds, the build the
// device runs now, and the time of its last answered request (rate limit).
import { and, desc, eq, gt, isNull } from 'drizzle-orm';
import type { builds, releases } from '../schema/index.ts';
import { afterKey } from '../page.ts';
import type { Tx } from '../store.ts';

export type ReleaseRow = typeof releases.$inferSelect;
type BuildRow = typeof builds.$inferSelect;

export async function insertRelease(tx: Tx, row: typeof releases.$inferInsert): Promise<void> {
  await tx.q.insert(tx.t.releases).values(row);
}

export async function findRelease(tx: Tx, id: string): Promise<ReleaseRow | undefined> {
  const { releases } = tx.t;
  const [row] = await tx.q.select().from(releases).where(eq(releases.id, id));
  return row;
}

/** One release with its build's version. */
export async function findReleaseWithVersion(tx: Tx, id: string): Promise<(ReleaseRow & { version: string }) | undefined> {
  const { releases, builds } = tx.t;
  const [row] = await tx.q.select({ release: releases, version: builds.version }).from(releases).innerJoin(builds, eq(builds.id, releases.buildId)).where(eq(releases.id, id));
  return row ? { ...row.release, version: row.version } : undefined;
}

/** Newest first (ids are time-prefixed), with the build's version; a page after `after`. */
export async function releasesPage(tx: Tx, after: string | undefined, limit: number): Promise<Array<ReleaseRow & { version: string }>> {
  const { releases, builds } = tx.t;
  const rows = await tx.q.select({ release: releases, version: builds.version }).from(releases).innerJoin(builds, eq(builds.id, releases.buildId)).where(afterKey(releases.id, 'desc', after)).orderBy(desc(releases.id)).limit(limit);
  return rows.map((r) => ({ ...r.release, version: r.version }));
}

export async function withdrawRelease(tx: Tx, id: string, now: number): Promise<boolean> {
  const { releases } = tx.t;
  const changed = await tx.q.update(releases).set({ withdrawnAt: now }).where(and(eq(releases.id, id), isNull(releases.withdrawnAt))).returning({ id: releases.id });
  return changed.length === 1;
}

/** The model's releases still offered, each with its build, newest build first. */
export async function offeredReleases(tx: Tx, model: string): Promise<Array<{ release: ReleaseRow; build: BuildRow }>> {
  const { releases, builds } = tx.t;
  return tx.q
    .select({ release: releases, build: builds })
    .from(releases)
    .innerJoin(builds, eq(builds.id, releases.buildId))
    .where(and(eq(releases.model, model), isNull(releases.withdrawnAt)))
    .orderBy(desc(builds.createdAt), desc(releases.createdAt));
}

/** The build of `model` with this version (what the device runs), if the server has it. */
export async function buildOfVersion(tx: Tx, model: string, version: string): Promise<BuildRow | undefined> {
  const { builds, models } = tx.t;
  const [row] = await tx.q.select({ build: builds }).from(builds).innerJoin(models, eq(models.id, builds.modelId)).where(and(eq(models.name, model), eq(builds.version, version)));
  return row?.build;
}

/** When the device's last answered update request was recorded, if after `since`. */
export async function lastAnsweredRequest(tx: Tx, deviceId: string, action: string, since: number): Promise<number | undefined> {
  const { auditEvents } = tx.t;
  const [row] = await tx.q
    .select({ at: auditEvents.at })
    .from(auditEvents)
    .where(and(eq(auditEvents.subject, deviceId), eq(auditEvents.action, action), gt(auditEvents.at, since)))
    .orderBy(desc(auditEvents.at))
    .limit(1);
  return row?.at;
}
