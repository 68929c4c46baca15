// DM housekeeping, run every few seconds by the server: ends sessions that went idle past
// their timeout, removes the rows (and stored replies) of sessions whose lost-reply
// window is over, and records the unknown-device messages of the last interval as one
// audit event. Operations that idle sessions had sent and never got an answer for are
// failed with 408 (timeout) rather than sent again: a Replace or an Exec may already have
// run on the device, and the operator decides whether to repeat it.
import type { Context } from '../../context.ts';
import { recordAudit } from '../../store/queries/audit.ts';
import { deleteChunksOfClosedSessions } from '../../store/queries/large-objects.ts';
import { deleteSessionsExpiredBefore, openSessionsIdleSince, updateOperation, updateSession } from '../../store/queries/devices.ts';
import type { DmGuard } from './guard.ts';
import { awaitingOf } from './state.ts';

export async function endIdleSessions(ctx: Context): Promise<number> {
  const now = ctx.clock.now();
  return ctx.db.transaction(async (tx) => {
    const idle = await openSessionsIdleSince(tx, now);
    for (const session of idle) {
      for (const command of awaitingOf(session.awaiting)) {
        if (command.opId) await updateOperation(tx, command.opId, { state: 'failed', statusCode: 408, doneAt: now });
      }
      await updateSession(tx, session.id, { state: 'ended', updatedAt: now });
    }
    return idle.length;
  });
}

export interface SweepResult {
  ended: number;
  removed: number;
}

export async function sweepDmSessions(ctx: Context, guard: DmGuard): Promise<SweepResult> {
  const now = ctx.clock.now();
  const ended = await endIdleSessions(ctx);
  // Ended and expired rows stay one more idle period, for a look at what just happened.
  const keepFor = ctx.config.dm.sessionIdleMs;
  const removed = await ctx.db.transaction((tx) => deleteSessionsExpiredBefore(tx, now - keepFor));
  // Large-object chunks of sessions no longer open will never be completed.
  await ctx.db.transaction((tx) => deleteChunksOfClosedSessions(tx));
  const unknown = guard.takeUnknownDevices();
  if (unknown) {
    await ctx.db.transaction((tx) => recordAudit(tx, { actor: 'dm', action: 'dm.unknown-devices', subject: 'dm', details: { ...unknown, until: now } }, now));
    ctx.log.warn({ messages: unknown.messages, devices: unknown.devices, sample: unknown.sample }, 'DM messages from unknown devices refused');
  }
  return { ended, removed };
}
