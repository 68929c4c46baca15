// The anti-rollback rule as a deployment is about to be commanded. A campaign's start leaves
// out the devices that run a build of higher securityVersion (campaigns/security-hold.ts),
// but a device can move to such a build afterwards (updated by other means, or by another
// server); commanded, its agent would refuse any package of the campaign's build (FUMO 405)
// and count as a failure against the campaign. It is not commanded: its deployment ends
// (canceled, with the start's reason) and its campaign counts it with the devices left out.
import { findDeployment, type DeploymentRow } from '../store/queries/deployments.ts';
import { addSecurityHeld } from '../store/queries/campaigns.ts';
import { securityAboveTarget } from '../store/queries/security-versions.ts';
import type { Tx } from '../store/store.ts';
import { transition } from './deployments.ts';

/** The end of the reason a device is left out, one wording for the start's count and one device's deployment. */
export function refusedAsDowngrade(build: { version: string; securityVersion: number }, highest: number): string {
  return `would refuse ${build.version} (security version ${build.securityVersion}) as a downgrade; roll forward with a build of security version ${highest} or higher`;
}

/** Why one device's deployment ended without being commanded. */
export function deviceHeldReason(build: { version: string; securityVersion: number }, running: { version: string; securityVersion: number }): string {
  return `left out: it runs ${running.version} (security version ${running.securityVersion}) and ${refusedAsDowngrade(build, running.securityVersion)}`;
}

/**
 * Ends the scheduled deployment `row` when the device runs `version`, of a higher
 * securityVersion than the deployment's build. Returns whether it did (nothing to command).
 */
export async function endIfSecurityHeld(tx: Tx, row: Pick<DeploymentRow, 'id' | 'buildId'>, version: string, now: number): Promise<boolean> {
  if (row.buildId === null) return false;
  const above = await securityAboveTarget(tx, row.buildId, version);
  if (!above) return false;
  // Read again, locked: the engine may move the same deployment meanwhile (abort, timeout).
  const locked = await findDeployment(tx, row.id, { forUpdate: true });
  if (locked?.state !== 'scheduled') return false;
  await transition(tx, locked, 'canceled', deviceHeldReason(above.target, { version, securityVersion: above.running }), now);
  if (locked.campaignId !== null) await addSecurityHeld(tx, locked.campaignId, 1, now);
  return true;
}
