// The anti-rollback rule, one home for it: a device accepts a package only if its target
// securityVersion is at least its own, so a build is never sent to devices that run a
// build of higher securityVersion (they would refuse it with FUMO 405). A release refuses
// such a build outright (deliverable.ts); a campaign leaves those devices out at its start,
// counts them (`securityHeld`) and says why, and updates the rest; a dynamic campaign
// never takes them in later either (join.ts); a device that moves to such a build after the
// start is not commanded: its deployment ends with the same reason and the campaign counts
// it here too (deployments/security-hold.ts). No campaign kind is
// exempt: a rollback campaign is refused at creation when its build would lower the
// securityVersion of the devices it brings back (rollback.ts), so it never needs to be.
import { refusedAsDowngrade } from '../deployments/security-hold.ts';
import type { BuildRow } from '../store/queries/builds.ts';
import { findBuild } from '../store/queries/builds.ts';
import { type CampaignRow, type CohortFilter, cohortByVersion } from '../store/queries/campaigns.ts';
import { canceledDevicesByVersion, versionsAboveSecurity } from '../store/queries/security-versions.ts';
import type { Tx } from '../store/store.ts';

/** Versions the cohort's devices run whose build has a higher securityVersion than `build`, each with that securityVersion. */
export async function securityHeldVersions(tx: Tx, build: Pick<BuildRow, 'securityVersion'> & { model: string }, filter: CohortFilter): Promise<Map<string, number>> {
  const above = await versionsAboveSecurity(tx, build.model, build.securityVersion);
  if (above.size === 0) return above;
  const held = new Map<string, number>();
  for (const version of (await cohortByVersion(tx, filter)).keys()) {
    const sv = above.get(version);
    if (sv !== undefined) held.set(version, sv);
  }
  return held;
}

/** The held versions of a campaign's cohort (none for a configuration campaign, which sends no firmware). */
export async function campaignHeldVersions(tx: Tx, campaign: Pick<CampaignRow, 'buildId'>, filter: CohortFilter): Promise<Map<string, number>> {
  if (campaign.buildId === null) return new Map();
  const build = await findBuild(tx, campaign.buildId);
  return build ? securityHeldVersions(tx, build, filter) : new Map();
}

/** Why devices were left out, in a line an operator can act on. */
export function describeSecurityHold(count: number, build: Pick<BuildRow, 'version' | 'securityVersion'>, held: ReadonlyMap<string, number>): string {
  const versions = [...held].map(([version, sv]) => `${version} (security version ${sv})`).join(', ');
  const highest = Math.max(...held.values());
  return `${count} device${count === 1 ? '' : 's'} left out: they run ${versions} and ${refusedAsDowngrade(build, highest)}`;
}

/**
 * The held versions the campaign's view names: those of its cohort (left out at start) and
 * those its canceled deployments' devices moved to since (left out as they were to be
 * commanded, deployments/security-hold.ts), whatever the cohort's version filter says.
 */
export async function heldVersionsSinceStart(tx: Tx, campaign: Pick<CampaignRow, 'id' | 'buildId'>, filter: CohortFilter): Promise<Map<string, number>> {
  if (campaign.buildId === null) return new Map();
  const build = await findBuild(tx, campaign.buildId);
  if (!build) return new Map();
  const held = await securityHeldVersions(tx, build, filter);
  const above = await versionsAboveSecurity(tx, build.model, build.securityVersion);
  for (const version of (await canceledDevicesByVersion(tx, campaign.id)).keys()) {
    const sv = above.get(version);
    if (sv !== undefined) held.set(version, sv);
  }
  return held;
}
