// Cohorts: which devices a campaign's filter matches. The preview answers "how many, on
// which versions, and are any of them busy in another campaign" before anything starts.
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { appAlreadyDone, appPreviewModel } from './app-preview.ts';
import { findBuild } from '../store/queries/builds.ts';
import { type CampaignRow, type CohortFilter, cohortByVersion, cohortInOtherCampaigns } from '../store/queries/campaigns.ts';
import type { AppPayload, CampaignCohort, Cohort, CohortPreview } from './schemas.ts';
import { securityHeldVersions } from './security-hold.ts';

export async function previewCohort(ctx: Context, query: Cohort & { buildId?: string; app?: AppPayload }): Promise<CohortPreview> {
  const build = query.buildId ? await findBuild(ctx.db, query.buildId) : undefined;
  if (query.buildId && !build) throw new AppError('NOT_FOUND', `no build ${query.buildId}`);
  const model = query.model ?? build?.model ?? (query.app ? await appPreviewModel(ctx.db, query.app, undefined) : undefined);
  if (!model) throw new AppError('VALIDATION', 'give the cohort a model (or a buildId to take the model from)');
  const filter = toFilter({ ...query, model });
  const byVersion = Object.fromEntries(await cohortByVersion(ctx.db, filter));
  const devices = Object.values(byVersion).reduce((a, b) => a + b, 0);
  return {
    devices,
    byVersion,
    ...(build ? { alreadyCurrent: byVersion[build.version] ?? 0, securityHeld: [...(await securityHeldVersions(ctx.db, build, filter)).keys()].reduce((n, v) => n + (byVersion[v] ?? 0), 0) } : {}),
    ...(query.app ? { alreadyCurrent: await appAlreadyDone(ctx.db, query.app, filter) } : {}),
    inOtherCampaigns: await cohortInOtherCampaigns(ctx.db, filter),
  };
}

/** A campaign's stored cohort (its model always set at creation). */
export function cohortOf(campaign: Pick<CampaignRow, 'cohort'>): CampaignCohort & { model: string } {
  return JSON.parse(campaign.cohort) as CampaignCohort & { model: string };
}

export function toFilter(cohort: CampaignCohort & { model: string }): CohortFilter {
  return {
    model: cohort.model,
    ...(cohort.versions ? { versions: cohort.versions } : {}),
    ...(cohort.tags ? { tags: cohort.tags } : {}),
    ...(cohort.deviceIds ? { deviceIds: cohort.deviceIds } : {}),
    ...(cohort.updatedByCampaign ? { updatedByCampaign: cohort.updatedByCampaign } : {}),
  };
}
