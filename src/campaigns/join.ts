// Dynamic cohorts: devices that match a running campaign's filter after its start (newly
// registered, or moved onto a cohort version) join it. Each is placed in a stage by its
// hash, like the snapshot's devices, and is scheduled at once if that stage has started.
import { IMMEDIATE } from '../store/db.ts';
import type { Context } from '../context.ts';
import { choosePackage } from '../deployments/policy.ts';
import type { HistoryEntry } from '../deployments/schemas.ts';
import { newId } from '../store/ids.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { findBuild, packagesOf } from '../store/queries/builds.ts';
import { type CampaignRow, lateJoiners, stagesOf, updateCampaign, updateStage } from '../store/queries/campaigns.ts';
import { insertDeployment } from '../store/queries/deployments.ts';
import { cohortOf, toFilter } from './cohort.ts';
import { stageOfLateJoiner } from './assign.ts';
import { ENGINE_ACTOR } from './policy.ts';

/** Devices taken in per scan; the rest join at the next one. */
const JOIN_BATCH = 1000;

export function joinLateDevices(ctx: Context, campaign: CampaignRow, now: number): number {
  // A scan reads the whole cohort, so it runs every ten ticks, not every tick.
  if (campaign.joinScanAt !== null && now - campaign.joinScanAt < 10 * ctx.config.campaigns.tickMs) return 0;
  return ctx.db.transaction((tx) => {
    updateCampaign(tx, campaign.id, { joinScanAt: now });
    const build = findBuild(tx, campaign.buildId);
    if (!build) return 0;
    const joiners = lateJoiners(tx, campaign.id, toFilter(cohortOf(campaign)), build.version, JOIN_BATCH);
    if (joiners.length === 0) return 0;
    const stages = stagesOf(tx, campaign.id);
    const percents = stages.map((s) => s.percent);
    const packages = packagesOf(tx, build.id);
    let joined = 0;
    for (const device of joiners) {
      const choice = choosePackage(packages, device.firmwareVersion, build.version);
      if ('none' in choice) continue;
      const index = stageOfLateJoiner(campaign.id, device.id, percents);
      const stage = stages[index];
      if (!stage) continue;
      const started = stage.state === 'running' || stage.state === 'done';
      const history: HistoryEntry[] = [{ at: new Date(now).toISOString(), state: started ? 'scheduled' : 'pending', cause: `joined campaign ${campaign.id} (dynamic cohort), stage ${index + 1}` }];
      insertDeployment(tx, {
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
      stage.size += 1;
      updateStage(tx, campaign.id, index, { size: stage.size });
      joined++;
    }
    updateCampaign(tx, campaign.id, { cohortSize: campaign.cohortSize + joined, updatedAt: now });
    campaign.cohortSize += joined;
    if (joined > 0) recordAudit(tx, { actor: ENGINE_ACTOR, action: 'campaign.join', subject: campaign.id, details: { devices: joined } }, now);
    return joined;
  }, IMMEDIATE);
}
