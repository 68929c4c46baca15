// A rotation whose Status was lost: the device applied the new credentials (Replace of its
// AppAuth nodes) but the session dropped before its Status reached the server, so the
// server still holds them as pending and the device presents them. Without this the device
// would be locked out for good. The DM layer asks for the pending credentials only after a
// message failed with the device's current ones; a message that authenticates with them
// commits the rotation (first-contact.ts: the claim, or the previous credentials, stop
// working). One that authenticates with the current ones drops them and the rotation is
// sent again.
import type { Context } from '../context.ts';
import type { DeviceRow } from '../store/queries/devices.ts';
import { type EnrollmentRow, enrollmentOf } from '../store/queries/enrollments.ts';
import { unseal } from './accounts.ts';

export interface PendingAccount {
  /** What the device presents once it holds the rotated credentials: its own id as the name. */
  credentials: { name: string; password: string };
  /** The device as it stands once the rotation commits (the server's own secret included, for its Cred). */
  device: DeviceRow;
}

/** The credentials of the device's unconfirmed rotation, if it has one. `known`: its enrollment as the message read it with the device (null: none). */
export async function pendingAccountOf(ctx: Context, device: DeviceRow, known?: { enrollment: EnrollmentRow } | null): Promise<PendingAccount | undefined> {
  const found = known === undefined ? await enrollmentOf(ctx.db, device.id) : known;
  const e = found?.enrollment;
  if (!e || e.pendingSecretSealed === null || e.pendingSecretNonce === null) return undefined;
  return {
    credentials: { name: device.id, password: unseal(ctx.vault, e.pendingSecretSealed, e.pendingSecretNonce) },
    device: {
      ...device,
      authName: device.id,
      authSecretSealed: e.pendingSecretSealed,
      authSecretNonce: e.pendingSecretNonce,
      serverSecretSealed: e.pendingServerSecretSealed,
      serverSecretNonce: e.pendingServerSecretNonce,
    },
  };
}
