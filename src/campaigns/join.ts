// Dynamic cohorts: devices that match a running campaign's filter after its start (newly
// registered, or moved onto a cohort version) join it. Each is placed in a stage by its
// hash, like the snapshot's devices, and is scheduled at once if that stage has started.
// The tick scans the whole cohort every ten ticks; a device seen in a DM session is checked
// alone, at once, so it can be updated in the session it is in instead of minutes later.
import type { Context } from '../context.ts';
import { choosePackage } from '../deployments/policy.ts';
import type { HistoryEntry } from '../deployments/schemas.ts';
import { newId } from '../store/ids.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { findBuild, packagesOf } from '../store/queries/builds.ts';
import { versionsAboveSecurity } from '../store/queries/security-versions.ts';
import { type CampaignRow, campaignsIn, type CohortFilter, findCampaign, lateJoiners, stagesOf, updateCampaign, updateStage } from '../store/queries/campaigns.ts';
import { insertDeploymentIfFree } from '../store/queries/deployments.ts';
import type { Tx } from '../store/store.ts';
import { cohortOf, toFilter } from './cohort.ts';
import { stageOfLateJoiner } from './assign.ts';
import { ENGINE_ACTOR } from './policy.ts';

/** Devices taken in per scan; the rest join at the next one. */
const JOIN_BATCH = 1000;

/** Seen devices looked up per query (well under SQLite's limit of bound parameters). */
const SEEN_BATCH = 500;

export async function joinLateDevices(ctx: Context, campaign: CampaignRow, now: number): Promise<number> {
  // A scan reads the whole cohort, so it runs every ten ticks, not every tick.
  if (campaign.joinScanAt !== null && now - campaign.joinScanAt < 10 * ctx.config.campaigns.tickMs) return 0;
  const joined = await ctx.db.transaction(async (tx) => {
    await updateCampaign(tx, campaign.id, { joinScanAt: now });
    return admit(tx, campaign.id, toFilter(cohortOf(campaign)), now, 'dynamic cohort');
  });
  campaign.cohortSize += joined;
  return joined;
}

/**
 * Devices just seen in DM sessions that match a running dynamic campaign join it now. Only
 * these devices are read (by primary key), and the write lock is taken only when one of
 * them joins, so this is cheap enough after every batch of DM messages. The scan still
 * runs: it catches devices that never talk to this process. Returns the campaigns that
 * took devices in.
 */
export async function joinSeenDevices(ctx: Context, deviceIds: string[], now: number): Promise<string[]> {
  const joinedIn: string[] = [];
  if (deviceIds.length === 0) return joinedIn;
  for (const campaign of await campaignsIn(ctx.db, ['running'])) {
    // Configuration campaigns are never dynamic (create.ts): no build, no joiners.
    if (!campaign.dynamic || campaign.buildId === null) continue;
    const build = await findBuild(ctx.db, campaign.buildId);
    if (!build) continue;
    const held = await versionsAboveSecurity(ctx.db, build.model, build.securityVersion);
    let joined = 0;
    for (let i = 0; i < deviceIds.length; i += SEEN_BATCH) {
      const filter = onlyThese(toFilter(cohortOf(campaign)), deviceIds.slice(i, i + SEEN_BATCH));
      // The common case (nobody new) reads a few rows and takes no write lock.
      if (!filter || (await lateJoiners(ctx.db, campaign.id, filter, build.version, 1, [...held.keys()])).length === 0) continue;
      joined += await ctx.db.transaction(async (tx) => ((await findCampaign(tx, campaign.id, { forUpdate: true }))?.state === 'running' ? admit(tx, campaign.id, filter, now, 'dynamic cohort, seen in a DM session') : 0));
    }
    if (joined > 0) joinedIn.push(campaign.id);
  }
  return joinedIn;
}

/** The cohort narrowed to the given devices (none left: undefined). */
function onlyThese(filter: CohortFilter, deviceIds: string[]): CohortFilter | undefined {
  const allowed = filter.deviceIds ? new Set(filter.deviceIds) : undefined;
  const ids = allowed ? deviceIds.filter((id) => allowed.has(id)) : deviceIds;
  return ids.length === 0 ? undefined : { ...filter, deviceIds: ids };
}

/**
 * Gives each device of `filter` not yet in the campaign a deployment in its stage (in the
 * caller's transaction, which re-reads what it decides on, the campaign locked first so
 * two admissions into one campaign take turns); returns how many joined.
 */
async function admit(tx: Tx, campaignId: string, filter: CohortFilter, now: number, how: string): Promise<number> {
  const campaign = await findCampaign(tx, campaignId, { forUpdate: true });
  if (!campaign || campaign.buildId === null) return 0;
  const build = await findBuild(tx, campaign.buildId);
  if (!build) return 0;
  const joiners = await lateJoiners(tx, campaign.id, filter, build.version, JOIN_BATCH, [...(await versionsAboveSecurity(tx, build.model, build.securityVersion)).keys()]);
  if (joiners.length === 0) return 0;
  const stages = await stagesOf(tx, campaign.id);
  const percents = stages.map((s) => s.percent);
  const packages = await packagesOf(tx, build.id);
  let joined = 0;
  for (const device of joiners) {
    const choice = choosePackage(packages, device.firmwareVersion, build.version);
    if ('none' in choice) continue;
    const index = stageOfLateJoiner(campaign.id, device.id, percents);
    const stage = stages[index];
    if (!stage) continue;
    const started = stage.state === 'running' || stage.state === 'done';
    const history: HistoryEntry[] = [{ at: new Date(now).toISOString(), state: started ? 'scheduled' : 'pending', cause: `joined campaign ${campaign.id} (${how}), stage ${index + 1}` }];
    // Free when lateJoiners read it, but on PostgreSQL another campaign's start or a
    // one-device deployment may have taken it since: the database decides, the device waits.
    const placed = await insertDeploymentIfFree(tx, {
      id: newId('dep'),
      deviceId: device.id,
      buildId: build.id,
      packageId: choice.packageId,
      state: started ? 'scheduled' : 'pending',
      history: JSON.stringify(history),
      campaignId: campaign.id,
      stage: index,
      createdBy: ENGINE_ACTOR,
      createdAt: now,
      updatedAt: now,
    });
    if (!placed) continue;
    stage.size += 1;
    await updateStage(tx, campaign.id, index, { size: stage.size });
    joined++;
  }
  await updateCampaign(tx, campaign.id, { cohortSize: campaign.cohortSize + joined, updatedAt: now });
  if (joined > 0) await recordAudit(tx, { actor: ENGINE_ACTOR, action: 'campaign.join', subject: campaign.id, details: { devices: joined } }, now);
  return joined;
}
