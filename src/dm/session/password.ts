// The device's DM password, unsealed once for the messages of its session (bounded-map.ts):
// every message of a digest session checks against it, and opening the sealed value
// (tweetnacl secretbox, in JavaScript) cost more than the check. Kept per vault, under the
// device and with the sealed value it came from, used only while the row holds that same
// sealed value: a new password (a new sealed value) or another master key (another vault)
// is never answered from what was kept. The clear text stays no longer
// than the entry does, in a process that holds the master key that opens it anyway.
import type { Context } from '../../context.ts';
import { devicePassword } from '../../devices/devices.ts';
import type { DeviceRow } from '../../store/queries/devices.ts';
import { BoundedMap } from '../../bounded-map.ts';

const RECENT_PASSWORDS = 4096;

/** A device's password as unsealed, with the sealed value it came from. */
interface Unsealed {
  nonce: string;
  sealed: string;
  password: string;
}

const byVault = new WeakMap<Context['vault'], BoundedMap<string, Unsealed>>();

export function sessionPassword(ctx: Context, device: DeviceRow): string {
  let recent = byVault.get(ctx.vault);
  if (recent === undefined) {
    recent = new BoundedMap<string, Unsealed>(RECENT_PASSWORDS);
    byVault.set(ctx.vault, recent);
  }
  // Under the device's id (a short key to hash, where the sealed value is some hundred
  // characters), and used only while it is the sealed value the row holds now.
  const kept = recent.use(device.id);
  if (kept !== undefined && kept.sealed === device.authSecretSealed && kept.nonce === device.authSecretNonce) return kept.password;
  const password = devicePassword(ctx, device);
  recent.set(device.id, { nonce: device.authSecretNonce, sealed: device.authSecretSealed, password });
  return password;
}
