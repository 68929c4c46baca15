// A used device provisioned again (a change of subscriber, enroll/first-contact.ts): the
// model's provisioning profile, its newest version, is queued once more, overriding what
// the device holds now (the operator's or its user's changes since). It settles as any
// provisioning does ("provisioning confirmed" with every Status, profiles/settle.ts).
//
// Adds are sent as Replaces: the first provisioning created those nodes, and a device
// answers an Add of a node it has with 418 (already exists), which would fail the
// application though the device holds the node; a Replace sets the value either way.
import { hasQueuedApplicationOf, latestVersionOf, provisioningProfileOf } from '../store/queries/profiles.ts';
import type { Tx } from '../store/store.ts';
import { operationsOf } from './profiles.ts';
import { queueApplication } from './queue.ts';
import type { ProfileOperation } from './schemas.ts';
import { PROFILE_ACTOR } from './session-work.ts';

/** Queues the model's provisioning profile again for the device; returns the application id (none: no profile, or one already waiting). */
export async function queueReprovisioning(tx: Tx, device: { id: string; model: string }, now: number): Promise<string | undefined> {
  const profile = await provisioningProfileOf(tx, device.model);
  if (!profile || (await hasQueuedApplicationOf(tx, device.id, profile.id, 'provisioning'))) return undefined;
  const version = await latestVersionOf(tx, profile.id);
  if (!version) return undefined;
  const operations = operationsOf(version).map(overriding);
  return queueApplication(tx, { deviceId: device.id, profileVersionId: version.id, operations, reason: 'provisioning', createdBy: PROFILE_ACTOR, now });
}

/** The operation as a re-provisioning sends it (pure: the tests read it). */
export function overriding(op: ProfileOperation): ProfileOperation {
  return op.command === 'Add' ? { ...op, command: 'Replace' } : op;
}
