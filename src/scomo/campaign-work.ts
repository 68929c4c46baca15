// Application campaigns in the DM session: a campaign deployment of kind application
// (buildId and profileVersionId both null) becomes one SCOMO operation on the campaign's
// component, which session.ts then sends like any other (DownloadInstall with the package
// chosen against the version the device reports: a delta where one exists), and the
// operation's outcome settles the deployment, so the engine's counts, thresholds and
// auto-pause see SCOMO results as they see FUMO ones (failed with the SCOMO result code).
//
// Two hooks: commandAppDeployment at the session's first turn (plan.ts, before planScomo),
// settleAppDeployment after the message's SCOMO effects are applied (persist.ts).
// One change at a time per component: a campaign deployment waits while another SCOMO
// operation on its component is under way on the device, and the baseline leaves the
// components of a device's running application campaigns alone (session.ts, componentsHeldOn).
import { transition } from '../deployments/deployments.ts';
import { fumoStepOf } from '../deployments/fumo-step.ts';
import { describeScomoResult, isOperationComplete, ScomoResult } from '../omadm/scomo.ts';
import { scomoOfDeployment } from '../store/queries/app-campaigns.ts';
import { type CampaignRow, findCampaign } from '../store/queries/campaigns.ts';
import type { DeploymentRow } from '../store/queries/deployments.ts';
import { type ActiveDeployment, activeDeploymentIn } from '../deployments/active.ts';
import { findAppVersion, findDeviceApps, OPEN_SCOMO_STATES, openScomoDeploymentsOf } from '../store/queries/scomo.ts';
import type { Tx } from '../store/store.ts';
import { scheduleChange } from './deployments.ts';
import { componentsOf, type InventoryRecord } from './inventory.ts';
import type { Change } from './reconcile.ts';
import type { InstalledComponent } from './schemas.ts';
import type { ScomoEffects } from './session.ts';

/** A campaign deployment an application campaign made: neither a build nor a profile version. */
const isAppDeployment = (row: DeploymentRow) => row.campaignId !== null && row.buildId === null && row.profileVersionId === null;

/**
 * The device's scheduled application deployment becomes a SCOMO operation when its campaign
 * runs and its maintenance window is open (or it is forced): the rule a firmware install
 * follows. A device that already has what the campaign asks (its inventory changed since the
 * start) is settled at once instead of commanded. `active`: the message's read of the
 * deployment under way (deployments/active.ts), when it has one.
 */
export async function commandAppDeployment(tx: Tx, device: { id: string; model: string }, now: number, active?: ActiveDeployment): Promise<void> {
  const row = await activeDeploymentIn(tx, device.id, active);
  if (!row || row.state !== 'scheduled' || !isAppDeployment(row) || row.campaignId === null) return;
  if (row.notBefore !== null && now < row.notBefore) return;
  const campaign = await findCampaign(tx, row.campaignId);
  if (!campaign || campaign.kind !== 'application' || campaign.appComponent === null || !fumoStepOf('downloadAndUpdate', campaign, now)) return;
  const component = campaign.appComponent;
  // One change at a time: a baseline or operator operation on the component finishes first.
  if ((await openScomoDeploymentsOf(tx, device.id)).some((d) => d.component === component)) return;
  const stored = await findDeviceApps(tx, device.id);
  const installed = stored ? componentsOf(JSON.parse(stored.components) as InventoryRecord).components : [];
  const present = installed.find((c) => c.component === component);
  const change = await changeFor(tx, campaign, present);
  if ('settled' in change) {
    await transition(tx, row, change.settled, change.cause, now);
    return;
  }
  const scomoId = await scheduleChange(tx, device, change, { reason: 'campaign', personId: campaign.createdBy, name: campaign.name }, now, { deploymentId: row.id });
  // Another operation on the component committed since the read above: it finishes first, and
  // the deployment stays scheduled for a later session, as if the read had seen it.
  if (scomoId === undefined) return;
  const what = change.operation === 'install' ? `install ${component} ${change.version ?? ''}` : `${change.operation} ${component}`;
  await transition(tx, row, 'commanded', `SCOMO ${what} sent (${scomoId})`, now, { attempts: row.attempts + 1 });
}

type Settled = { settled: 'succeeded' | 'canceled'; cause: string };

/** The SCOMO change the campaign asks of this device, or how its deployment ends when there is nothing to do. */
async function changeFor(tx: Tx, campaign: CampaignRow, present: InstalledComponent | undefined): Promise<Change | Settled> {
  const component = campaign.appComponent ?? '';
  if (campaign.appOperation === 'install') {
    const version = campaign.appVersionId === null ? undefined : await findAppVersion(tx, campaign.appVersionId);
    if (!version) return { settled: 'canceled', cause: `the application ${campaign.appVersionId ?? ''} the campaign installs is gone` };
    if (present?.version === version.version) return { settled: 'succeeded', cause: `the device already reports ${component} ${version.version}` };
    return { operation: 'install', component, version: version.version };
  }
  const operation = campaign.appOperation ?? 'remove';
  if (!present) return operation === 'remove' ? { settled: 'succeeded', cause: `the device no longer reports ${component}: nothing to remove` } : { settled: 'canceled', cause: `the device no longer reports ${component}: nothing to ${operation}` };
  if ((operation === 'activate' && present.state === 'active') || (operation === 'deactivate' && present.state === 'inactive')) return { settled: 'succeeded', cause: `${component} is already ${present.state}` };
  return { operation, component, node: present.node };
}

/**
 * After a message that said something about SCOMO: the device's commanded application
 * deployment settles once its SCOMO operation has ended. Returns the campaign whose counts
 * moved (the engine evaluates it soon), if any.
 */
export async function settleAppDeployment(tx: Tx, deviceId: string, effects: Pick<ScomoEffects, 'scomoStatuses' | 'genericAlerts'>, now: number, active?: ActiveDeployment): Promise<string | undefined> {
  if (effects.scomoStatuses.length === 0 && !effects.genericAlerts.some((a) => isOperationComplete(a.type))) return undefined;
  const row = await activeDeploymentIn(tx, deviceId, active);
  if (!row || row.state !== 'commanded' || !isAppDeployment(row)) return undefined;
  const scomo = await scomoOfDeployment(tx, row.id);
  if (!scomo || (OPEN_SCOMO_STATES as readonly string[]).includes(scomo.state)) return undefined;
  if (scomo.state === 'succeeded') await transition(tx, row, 'succeeded', `SCOMO ${describeScomoResult(scomo.resultCode ?? ScomoResult.Success)} (${scomo.id})`, now, { resultCode: scomo.resultCode });
  else if (scomo.state === 'canceled') await transition(tx, row, 'canceled', `SCOMO operation ${scomo.id} canceled`, now);
  else {
    // A SCOMO result code as the failure's code (the stage's "most common result"); a refused
    // Exec leaves its DM Status there; an operation the device lost, none ('timeout').
    const cause = scomo.resultCode === null ? `SCOMO operation ${scomo.id} failed with no result` : scomo.resultCode >= 1000 ? `SCOMO ${describeScomoResult(scomo.resultCode)}` : `device refused the SCOMO Exec (Status ${scomo.resultCode})`;
    await transition(tx, row, 'failed', `${cause} (${scomo.id})`, now, { resultCode: scomo.resultCode });
  }
  return row.campaignId ?? undefined;
}
