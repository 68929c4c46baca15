// Ends DM sessions that went idle past their timeout. Operations they had sent and never
// got an answer for are failed with 408 (timeout) rather than sent again: a Replace or an
// Exec may already have run on the device, and the operator decides whether to repeat it.
import type { Context } from '../../context.ts';
import { openSessionsIdleSince, updateOperation, updateSession } from '../../store/queries/devices.ts';
import { awaitingSchema } from './state.ts';

export function endIdleSessions(ctx: Context): number {
  const now = ctx.clock.now();
  return ctx.db.transaction((tx) => {
    const idle = openSessionsIdleSince(tx, now);
    for (const session of idle) {
      for (const command of awaitingSchema.parse(JSON.parse(session.awaiting))) {
        if (command.opId) updateOperation(tx, command.opId, { state: 'failed', statusCode: 408, doneAt: now });
      }
      updateSession(tx, session.id, { state: 'ended', updatedAt: now });
    }
    return idle.length;
  });
}
