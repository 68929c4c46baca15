// What a campaign delivers: a firmware build (FUMO), a configuration profile version
// (profiles/) or an application operation (SCOMO, app-payload.ts). The engine (stages, approvals, thresholds, windows) is the same for both;
// these are the few places where the payload matters: the check before the start, the
// version a device may already run (firmware only: a configuration is always sent), and
// the label operators read.
import { AppError } from '../errors.ts';
import { resolveVersionId } from '../profiles/profiles.ts';
import { findBuild } from '../store/queries/builds.ts';
import type { CampaignRow, CohortPageRow } from '../store/queries/campaigns.ts';
import type { Tx } from '../store/store.ts';
import { deliverableBuild } from './deliverable.ts';
import { type AppCampaignFields, appDoneAmong, appPayloadLabel, appTargetVersion, checkAppDeliverable } from './app-payload.ts';

export type CampaignKind = CampaignRow['kind'];

/** Refuses the start of a campaign whose payload cannot be delivered. */
export async function checkDeliverable(tx: Tx, campaign: Pick<CampaignRow, 'id' | 'buildId' | 'profileVersionId' | 'kind'> & AppCampaignFields, purpose: string): Promise<void> {
  if (campaign.kind === 'application') return checkAppDeliverable(tx, campaign);
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

/** Which devices of a cohort page a start leaves out: they already have what the campaign delivers (or nothing to remove). */
export type AlreadyDone = (tx: Tx, page: CohortPageRow[]) => Promise<Set<string>>;

/** The test a start applies to each page of the cohort; undefined when the campaign's build is gone. */
export async function alreadyDoneTest(tx: Tx, campaign: Pick<CampaignRow, 'buildId' | 'kind'> & AppCampaignFields): Promise<AlreadyDone | undefined> {
  if (campaign.kind === 'application') {
    const target = await appTargetVersion(tx, campaign);
    return (db, page) => appDoneAmong(db, campaign, target, page.map((r) => r.id));
  }
  const version = await skippedVersionOf(tx, campaign);
  if (version === undefined) return undefined;
  return async (_db, page) => new Set(version === null ? [] : page.filter((r) => r.firmwareVersion === version).map((r) => r.id));
}

/** What the campaign delivers, as operators read it: the build's version, or NAME@VERSION of the profile. */
export async function payloadLabelOf(tx: Tx, campaign: Pick<CampaignRow, 'buildId' | 'profileVersionId' | 'kind'> & AppCampaignFields): Promise<string> {
  if (campaign.kind === 'application') return appPayloadLabel(campaign, await appTargetVersion(tx, campaign));
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
