// What a campaign delivers: a firmware build (FUMO) or a configuration profile version
// (profiles/). The engine (stages, approvals, thresholds, windows) is the same for both;
// these are the few places where the payload matters: the check before the start, the
// version a device may already run (firmware only: a configuration is always sent), and
// the label operators read.
import { AppError } from '../errors.ts';
import { resolveVersionId } from '../profiles/profiles.ts';
import { findBuild } from '../store/queries/builds.ts';
import type { CampaignRow } from '../store/queries/campaigns.ts';
import type { Tx } from '../store/store.ts';
import { deliverableBuild } from './deliverable.ts';

export type CampaignKind = CampaignRow['kind'];

/** Refuses the start of a campaign whose payload cannot be delivered. */
export async function checkDeliverable(tx: Tx, campaign: Pick<CampaignRow, 'id' | 'buildId' | 'profileVersionId'>, purpose: string): Promise<void> {
  if (campaign.buildId !== null) {
    await deliverableBuild(tx, campaign.buildId, purpose);
    return;
  }
  if (campaign.profileVersionId === null) throw new AppError('CONFLICT', `campaign ${campaign.id} names neither a build nor a profile version`);
  await resolveVersionId(tx, campaign.profileVersionId);
}

/**
 * The firmware version a cohort device that already runs it is left out for: the build's,
 * or null for a configuration campaign (every device gets the profile); undefined when the
 * campaign's build is gone.
 */
export async function skippedVersionOf(tx: Tx, campaign: Pick<CampaignRow, 'buildId'>): Promise<string | null | undefined> {
  if (campaign.buildId === null) return null;
  return (await findBuild(tx, campaign.buildId))?.version;
}

/** What the campaign delivers, as operators read it: the build's version, or NAME@VERSION of the profile. */
export async function payloadLabelOf(tx: Tx, campaign: Pick<CampaignRow, 'buildId' | 'profileVersionId'>): Promise<string> {
  if (campaign.buildId !== null) return (await findBuild(tx, campaign.buildId))?.version ?? '?';
  if (campaign.profileVersionId === null) return '?';
  try {
    const version = await resolveVersionId(tx, campaign.profileVersionId);
    return `${version.name}@${version.version}`;
  } catch (err) {
    if (err instanceof AppError) return '?';
    throw err;
  }
}
