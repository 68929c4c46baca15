// Releases: the operator offers a ready build to a cohort (filtered as campaigns filter
// one), optionally only inside a maintenance window, for updates devices or their users
// ask for. Creating one pushes nothing; withdrawing it stops the offer (the row stays).
import { cohortOf, toFilter } from '../campaigns/cohort.ts';
import { deliverableBuild, refuseSecurityDowngrade } from '../campaigns/deliverable.ts';
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { windowOf } from '../schedule/window.ts';
import { newId } from '../store/ids.ts';
import { keysetPage, type Page, type PageRequest } from '../store/page.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { findRelease, findReleaseWithVersion, insertRelease, type ReleaseRow, releasesPage, withdrawRelease } from '../store/queries/releases.ts';
import { auditActor, type Principal } from '../tokens/tokens.ts';
import type { CreateRelease, ReleaseView } from './schemas.ts';

export async function createRelease(ctx: Context, principal: Principal, request: CreateRelease): Promise<ReleaseView> {
  const now = ctx.clock.now();
  const id = newId('rel');
  await ctx.db.transaction(async (tx) => {
    const { build } = await deliverableBuild(tx, request.buildId, 'release it');
    const model = request.cohort.model ?? build.model;
    if (model !== build.model) throw new AppError('VALIDATION', `cohort model ${model} does not match build ${build.id}, which is for ${build.model}`);
    const cohort = { ...request.cohort, model };
    await refuseSecurityDowngrade(tx, build, toFilter(cohort));
    await insertRelease(tx, {
      id,
      buildId: build.id,
      model,
      cohort: JSON.stringify(cohort),
      window: request.maintenanceWindow ? JSON.stringify(request.maintenanceWindow) : null,
      createdBy: principal.personId,
      createdByName: principal.name,
      createdAt: now,
    });
    await recordAudit(tx, { ...auditActor(principal), action: 'release.create', subject: id, details: { buildId: build.id, version: build.version, cohort, maintenanceWindow: request.maintenanceWindow ?? null } }, now);
  });
  return releaseView(ctx, id);
}

export async function withdraw(ctx: Context, principal: Principal, id: string): Promise<ReleaseView> {
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    const row = await findRelease(tx, id);
    if (!row) throw new AppError('NOT_FOUND', `no release ${id}`);
    if (!(await withdrawRelease(tx, id, now))) throw new AppError('CONFLICT', `release ${id} was already withdrawn`);
    await recordAudit(tx, { ...auditActor(principal), action: 'release.withdraw', subject: id, details: { buildId: row.buildId } }, now);
  });
  return releaseView(ctx, id);
}

export async function releaseView(ctx: Context, id: string): Promise<ReleaseView> {
  const row = await findReleaseWithVersion(ctx.db, id);
  if (!row) throw new AppError('NOT_FOUND', `no release ${id}`);
  return toView(row);
}

export function listReleases(ctx: Context, query: PageRequest): Promise<Page<ReleaseView>> {
  return keysetPage('releases', query, (after, limit) => releasesPage(ctx.db, after, limit), (row) => row.id, toView);
}

function toView(row: ReleaseRow & { version: string }): ReleaseView {
  return {
    id: row.id,
    buildId: row.buildId,
    version: row.version,
    model: row.model,
    cohort: cohortOf(row),
    maintenanceWindow: windowOf(row.window),
    createdBy: row.createdByName,
    createdAt: new Date(row.createdAt).toISOString(),
    withdrawnAt: row.withdrawnAt === null ? null : new Date(row.withdrawnAt).toISOString(),
  };
}
