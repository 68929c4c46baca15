// What profiles ask of a device's DM session, at the server's first turn of each session
// (plan.ts calls this before it reads the device's queued operations, in the message's
// transaction): applications a lost session left unanswered, sent again (unanswered.ts);
// the model's provisioning profile for a device that never had it, and the
// application a configuration campaign's scheduled deployment is waiting for. Both become
// queued operations the same plan then sends. Independent of how the device enrolled: the
// trigger is "no application of the model's provisioning profile yet".
import { transition } from '../deployments/deployments.ts';
import { fumoStepOf } from '../deployments/fumo-step.ts';
import { findCampaign } from '../store/queries/campaigns.ts';
import { type ActiveDeployment, activeDeploymentIn } from '../deployments/active.ts';
import { type Footing, holds } from '../store/queries/footing.ts';
import { findVersionById, hasApplicationOf, latestVersionOf, provisioningProfileOf, queuedApplicationsOf } from '../store/queries/profiles.ts';
import type { Tx } from '../store/store.ts';
import { confirmationPolicyOf } from '../store/queries/user-prompts.ts';
import { operationsOf } from './profiles.ts';
import { queueApplication } from './queue.ts';
import { resendUnanswered } from './unanswered.ts';

export const PROFILE_ACTOR = 'profiles';

/**
 * Returns the campaigns whose deployments moved (an application given up on: unanswered.ts).
 * `active`: the message's read of the deployment under way (deployments/active.ts), and
 * `footing` what it read of the device's profile applications and the model's provisioning
 * profile (store/queries/footing.ts), when it has them: what is absent is not read again.
 */
export async function queueProfileWork(tx: Tx, device: { id: string; model: string }, now: number, active?: ActiveDeployment, footing?: Footing): Promise<string[]> {
  // Applications a lost session left unanswered go again first (or fail), before anything new.
  const moved = holds(tx, footing, 'profileApplications') && !footing.hasQueuedApplications ? [] : await resendUnanswered(tx, device.id, now);
  await queueProvisioning(tx, device, now, footing);
  await commandConfigurationDeployment(tx, device.id, now, active);
  return moved;
}

/** The model's provisioning profile (its newest version), once per device. */
async function queueProvisioning(tx: Tx, device: { id: string; model: string }, now: number, footing: Footing | undefined): Promise<void> {
  // No DM message writes profiles: the footing's answer holds for the whole transaction.
  const profile = footing ? (footing.provisioningProfileId === null ? undefined : { id: footing.provisioningProfileId }) : await provisioningProfileOf(tx, device.model);
  if (!profile || (await hasApplicationOf(tx, device.id, profile.id, 'provisioning'))) return;
  const version = await latestVersionOf(tx, profile.id);
  if (!version) return;
  await queueApplication(tx, { deviceId: device.id, profileVersionId: version.id, operations: operationsOf(version), reason: 'provisioning', createdBy: PROFILE_ACTOR, now });
}

/**
 * A configuration campaign's scheduled deployment is commanded when its campaign runs and
 * its maintenance window is open (or it is forced): the same rule as a firmware install.
 */
async function commandConfigurationDeployment(tx: Tx, deviceId: string, now: number, active: ActiveDeployment | undefined): Promise<void> {
  const row = await activeDeploymentIn(tx, deviceId, active);
  if (!row || row.state !== 'scheduled' || row.profileVersionId === null || row.campaignId === null) return;
  if (row.notBefore !== null && now < row.notBefore) return;
  // Already queued, behind its user's answer: it stays scheduled until the user accepts (confirmation.ts).
  if ((await queuedApplicationsOf(tx, deviceId)).some((a) => a.deploymentId === row.id)) return;
  const campaign = await findCampaign(tx, row.campaignId);
  if (!campaign || !fumoStepOf('downloadAndUpdate', campaign, now)) return;
  const version = await findVersionById(tx, row.profileVersionId);
  if (!version) return;
  // A campaign with `confirm` asks each device's user before the profile is written (profiles/confirmation.ts).
  const gated = (await confirmationPolicyOf(tx, [row.id, row.campaignId])) !== undefined;
  const applicationId = await queueApplication(tx, { deviceId, profileVersionId: version.id, operations: operationsOf(version), reason: 'campaign', deploymentId: row.id, ...(gated ? { gated } : {}), createdBy: PROFILE_ACTOR, now });
  // Behind a prompt it stays scheduled, as a firmware update does, and is commanded when
  // the user accepts: nothing is sent to the device before that.
  const [state, sent] = gated ? (['scheduled', "queued behind its user's answer"] as const) : (['commanded', 'sent'] as const);
  await transition(tx, row, state, `profile ${version.name}@${version.version} ${sent} (application ${applicationId})`, now, { attempts: row.attempts + 1 });
}
