// Online guessing is throttled. Every `maxFailures` failed authentications of a device
// without a success between lock it for `lockoutMs` (in the database, so every server
// process holds the lock); too many failures from one address within `lockoutMs` lock that
// address (in this process). While locked, credentials are not checked at all: the message
// gets HTTP 429 with Retry-After. A success resets the device's count. Messages without
// credentials still get their challenge, and a session continued by its RespURI token is
// not affected, so a lock only stops guessing.
//
// The audit log gets the first failure after a success and each lock, not a row per
// failure: an attacker's messages cost a bounded number of rows per lock period.
import type { Logger } from 'pino';
import type { Context } from '../../context.ts';
import { recordAudit } from '../../store/queries/audit.ts';
import type { DmGuard } from './guard.ts';
import { addAuthFailure, type DeviceRow, updateDevice } from '../../store/queries/devices.ts';

/** Until when credentials for this device, or from this address, are not checked; undefined when they are. */
export function lockedUntil(guard: DmGuard, device: DeviceRow, address: string, now: number): number | undefined {
  const byDevice = device.authLockedUntil !== null && device.authLockedUntil > now ? device.authLockedUntil : undefined;
  const byAddress = guard.addressLockedUntil(address, now);
  if (byDevice === undefined) return byAddress;
  return byAddress === undefined ? byDevice : Math.max(byDevice, byAddress);
}

export async function recordAuthFailure(ctx: Context, guard: DmGuard, device: DeviceRow, where: { address: string; sessionId: string }, now: number, log: Logger): Promise<void> {
  const { maxFailures, lockoutMs, addressMaxFailures } = ctx.config.dm.auth;
  // The count is incremented and read in one statement (addAuthFailure), so concurrent
  // failures of one device each see their own number and exactly one of them locks it.
  const lock = await ctx.db.transaction(async (tx) => {
    const failures = await addAuthFailure(tx, device.id);
    if (failures === 1) await recordAudit(tx, { actor: 'dm', action: 'dm.auth-failed', subject: device.id, details: { ...where } }, now);
    if (failures % maxFailures !== 0) return undefined;
    const until = now + lockoutMs;
    await updateDevice(tx, device.id, { authLockedUntil: until });
    await recordAudit(tx, { actor: 'dm', action: 'dm.auth-locked', subject: device.id, details: { ...where, failures, until } }, now);
    return { failures, until };
  });
  if (lock) {
    guard.deviceLocked();
    log.warn({ failures: lock.failures, until: new Date(lock.until).toISOString() }, 'device locked after failed DM authentications');
  }
  const addressUntil = guard.authFailed(where.address, now);
  if (addressUntil !== undefined) {
    await ctx.db.transaction((tx) => recordAudit(tx, { actor: 'dm', action: 'dm.address-locked', subject: where.address, details: { failures: addressMaxFailures, until: addressUntil } }, now));
    log.warn({ address: where.address, until: new Date(addressUntil).toISOString() }, 'address locked after failed DM authentications');
  }
}
