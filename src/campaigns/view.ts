// What operators read: a campaign with each stage's counts by state and failures by
// result code, and a short list of campaigns.
import { appOfCampaign } from './app-payload.ts';
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { bytesServedOf, type CampaignRow, countsByStage, failuresByStage, findCampaign, listCampaigns, stagesOf } from '../store/queries/campaigns.ts';
import { type CountedState, DEPLOYMENT_STATES, emptyCounts, type StageCounts } from './policy.ts';
import type { CampaignSummary, CampaignView, StageView } from './schemas.ts';
import { cohortOf } from './cohort.ts';
import { isWithinWindow, nextOpening, windowOf } from '../schedule/window.ts';
import { overridesOf } from './overrides.ts';
import { payloadLabelOf } from './payload.ts';
import { describeSecurityHold, heldVersionsSinceStart } from './security-hold.ts';
import { findBuild } from '../store/queries/builds.ts';
import { toFilter } from './cohort.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

async function countsPerStage(ctx: Context, campaignId: string): Promise<Map<number, StageCounts>> {
  const perStage = new Map<number, StageCounts>();
  for (const row of await countsByStage(ctx.db, campaignId)) {
    let counts = perStage.get(row.stage);
    if (!counts) perStage.set(row.stage, (counts = emptyCounts()));
    if (row.state in counts) counts[row.state as CountedState] += row.n;
  }
  return perStage;
}

function total(perStage: Iterable<StageCounts>): StageCounts {
  const sum = emptyCounts();
  for (const counts of perStage) for (const s of DEPLOYMENT_STATES) sum[s] += counts[s];
  return sum;
}

export async function campaignView(ctx: Context, id: string): Promise<CampaignView> {
  const campaign = await findCampaign(ctx.db, id);
  if (!campaign) throw new AppError('NOT_FOUND', `no campaign ${id}`);
  const perStage = await countsPerStage(ctx, id);
  const failures = new Map<number, Record<string, number>>();
  for (const row of await failuresByStage(ctx.db, id)) {
    const byCode = failures.get(row.stage) ?? {};
    byCode[row.code === null ? 'timeout' : String(row.code)] = row.n;
    failures.set(row.stage, byCode);
  }
  const overrides = await overridesOf(ctx.db, id);
  const stages: StageView[] = (await stagesOf(ctx.db, id)).map((s) => ({
    index: s.index,
    percent: s.percent,
    requiresApproval: s.requiresApproval,
    state: s.state,
    size: s.size,
    counts: perStage.get(s.index) ?? emptyCounts(),
    failures: failures.get(s.index) ?? {},
    startedAt: iso(s.startedAt),
    thresholdMetAt: iso(s.thresholdMetAt),
    approvedBy: s.approvedByName,
    approvedAt: iso(s.approvedAt),
    overrides: overrides.get(s.index) ?? [],
  }));
  return {
    ...(await summaryFields(ctx, campaign, stages[campaign.currentStage]?.state)),
    cohort: cohortOf(campaign),
    successThreshold: campaign.successThreshold,
    failureThreshold: campaign.failureThreshold,
    minSample: campaign.minSample,
    soakSeconds: campaign.soakMs / 1000,
    timeoutMinutes: campaign.timeoutMs / 60_000,
    dynamic: campaign.dynamic,
    maintenanceWindow: windowOf(campaign.window),
    forcedReason: campaign.forcedReason,
    mode: campaign.mode,
    bandwidthBytesPerSecond: campaign.bandwidthBytesPerSecond,
    alreadyCurrent: campaign.alreadyCurrent,
    busy: campaign.busy,
    ...(await securityHoldView(ctx, campaign)),
    startedAt: iso(campaign.startedAt),
    finishedAt: iso(campaign.finishedAt),
    stages,
    totals: total(perStage.values()),
    bytesServed: await bytesServedOf(ctx.db, id),
  };
}

/** Devices left out for their security version, and why (the reason read again from the builds). */
async function securityHoldView(ctx: Context, campaign: CampaignRow): Promise<Pick<CampaignView, 'securityHeld' | 'securityHeldReason'>> {
  if (campaign.securityHeld === 0 || campaign.buildId === null) return { securityHeld: campaign.securityHeld, securityHeldReason: null };
  const build = await findBuild(ctx.db, campaign.buildId);
  const held = await heldVersionsSinceStart(ctx.db, campaign, toFilter(cohortOf(campaign)));
  return { securityHeld: campaign.securityHeld, securityHeldReason: build && held.size > 0 ? describeSecurityHold(campaign.securityHeld, build, held) : null };
}

/** Open now, or when it opens: read at the time of the answer, by the server's clock. */
function windowNow(stored: string | null, now: number): CampaignView['windowNow'] {
  const window = windowOf(stored);
  if (!window) return null;
  const opening = nextOpening(window, now);
  return { open: isWithinWindow(window, now), opensAt: iso(opening?.at ?? null), opensLocal: opening?.local ?? null };
}

async function summaryFields(ctx: Context, campaign: CampaignRow, currentStageState?: StageView['state'] | undefined) {
  const stageState = currentStageState ?? (campaign.state === 'draft' ? undefined : (await stagesOf(ctx.db, campaign.id))[campaign.currentStage]?.state);
  return {
    id: campaign.id,
    name: campaign.name,
    buildId: campaign.buildId,
    kind: campaign.kind,
    profileVersionId: campaign.profileVersionId,
    app: await appOfCampaign(ctx.db, campaign),
    model: campaign.model,
    targetVersion: await payloadLabelOf(ctx.db, campaign),
    state: campaign.state,
    ...(campaign.pausedReason ? { pausedReason: campaign.pausedReason } : {}),
    ...(campaign.pauseKind ? { pauseKind: campaign.pauseKind as 'operator' | 'failures' | 'below-success' } : {}),
    // Nothing else writes a paused campaign's row, so its last update is the pause.
    ...(campaign.state === 'paused' ? { pausedAt: new Date(campaign.updatedAt).toISOString() } : {}),
    scheduledFor: campaign.state === 'draft' && campaign.startAt !== null ? new Date(campaign.startAt).toISOString() : null,
    currentStage: campaign.currentStage,
    currentStageState: campaign.state === 'draft' ? null : (stageState ?? null),
    windowNow: windowNow(campaign.window, ctx.clock.now()),
    fourEyes: campaign.fourEyes,
    createdBy: campaign.createdByName,
    cohortSize: campaign.cohortSize,
    createdAt: new Date(campaign.createdAt).toISOString(),
  };
}

export async function campaignSummaries(ctx: Context, limit = 100): Promise<CampaignSummary[]> {
  const summaries: CampaignSummary[] = [];
  for (const c of await listCampaigns(ctx.db, limit)) summaries.push(await campaignSummary(ctx, c));
  return summaries;
}

/** One campaign as a list shows it: its fields and the totals of all its stages. */
export async function campaignSummary(ctx: Context, c: CampaignRow): Promise<CampaignSummary> {
  return { ...(await summaryFields(ctx, c)), totals: total((await countsPerStage(ctx, c.id)).values()) };
}
