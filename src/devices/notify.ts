// Package 0: the OMA DM notification that asks a device to open a session now. Built with
// the device's server password and the nonce the device gave the server, handed to the
// Notifier. A device that is not reached updates when it next polls.
import { randomInt } from 'node:crypto';
import type { Context } from '../context.ts';
import { decodeNonce } from '../omadm/auth.ts';
import { buildNotification, notificationSessionId } from '../omadm/notification.ts';
import type { NotifyResult } from '../omadm/notifier.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { auditActor, type Principal } from '../tokens/tokens.ts';
import { deviceRow, serverPassword } from './devices.ts';

export type NotifyOutcome = NotifyResult & { sessionId: string };

export async function notifyDevice(ctx: Context, actor: Principal | 'system', deviceId: string, uiMode: 0 | 1 | 2 | 3 = 1): Promise<NotifyOutcome> {
  const device = await deviceRow(ctx, deviceId);
  // Without a nonce from the device yet, the empty one: what a device that never gave the
  // server a nonce checks with (libdmclient does). A nonce invented here would be stored
  // and then sign the server's Cred in the next session, which the device must refuse.
  const nonce = device.serverNonce === null ? new Uint8Array(0) : decodeNonce(device.serverNonce);
  const sessionId = randomInt(1, 0x10000);
  const message = buildNotification({
    serverId: ctx.config.dm.serverId,
    serverPassword: serverPassword(ctx, device) ?? '',
    nonce,
    sessionId,
    uiMode,
  });
  const result = await ctx.notifier.notify({ deviceId, ...(device.webhookUrl ? { webhookUrl: device.webhookUrl } : {}) }, message);
  const now = ctx.clock.now();
  await ctx.db.transaction((tx) => recordAudit(tx, { ...(actor === 'system' ? { actor: 'system' } : auditActor(actor)), action: 'device.notify', subject: deviceId, details: { ...result, sessionId: notificationSessionId(sessionId) } }, now));
  return { ...result, sessionId: notificationSessionId(sessionId) };
}
