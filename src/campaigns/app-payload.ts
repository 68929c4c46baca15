// What an application campaign's payload means outside the DM session: its label, whether
// it can still be delivered, and which cohort devices it leaves out at the start because
// their application inventory (as last read) says there is nothing to do: an install whose
// device already runs the target version, a removal (or activation, deactivation) whose
// device does not report the component (or reports it already in that state). A device
// whose inventory was never read is installed to, and has nothing to remove.
import { AppError } from '../errors.ts';
import { componentsOf, type InventoryRecord } from '../scomo/inventory.ts';
import type { InstalledComponent } from '../scomo/schemas.ts';
import { deviceAppsIn } from '../store/queries/app-campaigns.ts';
import type { CampaignRow } from '../store/queries/campaigns.ts';
import { findAppVersion } from '../store/queries/scomo.ts';
import type { Tx } from '../store/store.ts';

export type AppCampaignFields = Pick<CampaignRow, 'appOperation' | 'appComponent' | 'appVersionId'>;

// The label lives with SCOMO so a device's view (devices/) can name the same payload.
export { appPayloadLabel } from '../scomo/payload-label.ts';

/** The target version of an install (null for the other operations; '?' when the application is gone). */
export async function appTargetVersion(tx: Tx, campaign: AppCampaignFields): Promise<string | null> {
  if (campaign.appOperation !== 'install') return null;
  return campaign.appVersionId === null ? '?' : ((await findAppVersion(tx, campaign.appVersionId))?.version ?? '?');
}

export async function checkAppDeliverable(tx: Tx, campaign: Pick<CampaignRow, 'id'> & AppCampaignFields): Promise<void> {
  if (campaign.appComponent === null || campaign.appOperation === null) throw new AppError('CONFLICT', `campaign ${campaign.id} names no application operation`);
  if (campaign.appOperation === 'install' && (campaign.appVersionId === null || !(await findAppVersion(tx, campaign.appVersionId)))) throw new AppError('CONFLICT', `the application campaign ${campaign.id} installs is gone`);
}

/** Whether the device's components leave nothing for the campaign to do (pure). */
export function nothingToDo(campaign: AppCampaignFields, targetVersion: string | null, components: InstalledComponent[]): boolean {
  const present = components.find((c) => c.component === campaign.appComponent);
  switch (campaign.appOperation) {
    case 'install':
      return present !== undefined && present.version === targetVersion;
    case 'remove':
      return present === undefined;
    case 'activate':
      return present === undefined || present.state === 'active';
    case 'deactivate':
      return present === undefined || present.state === 'inactive';
    default:
      return true;
  }
}

/** The ids among these devices the campaign leaves out, from their stored inventories. */
export async function appDoneAmong(tx: Tx, campaign: AppCampaignFields, targetVersion: string | null, deviceIds: string[]): Promise<Set<string>> {
  const inventories = new Map((await deviceAppsIn(tx, deviceIds)).map((r) => [r.deviceId, componentsOf(JSON.parse(r.components) as InventoryRecord).components]));
  return new Set(deviceIds.filter((id) => nothingToDo(campaign, targetVersion, inventories.get(id) ?? [])));
}

/** The view's `app`: operation, component, version and application id; null for other kinds. */
export async function appOfCampaign(tx: Tx, campaign: Pick<CampaignRow, 'kind'> & AppCampaignFields): Promise<{ operation: NonNullable<CampaignRow['appOperation']>; component: string; version: string | null; id: string | null } | null> {
  if (campaign.kind !== 'application' || campaign.appOperation === null || campaign.appComponent === null) return null;
  return { operation: campaign.appOperation, component: campaign.appComponent, version: await appTargetVersion(tx, campaign), id: campaign.appVersionId };
}
