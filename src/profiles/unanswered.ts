// Profile applications whose commands were sent but never answered: the session was lost
// (the device dropped it, or it went idle and expire.ts failed its commands with 408)
// before the Statuses came back. Such an application would wait forever. At the first
// turn of the device's next session its unanswered commands are sent again, in order, up
// to MAX_ATTEMPTS sends in all: a Replace sets the same value again, a Get reads again.
// After that it fails with 408 and a reason the operator reads, and a configuration
// campaign counts its deployment as failed. An Exec is never repeated (it may have run
// on the device; expire.ts's rule for operator operations): an unanswered Exec fails the
// application at once. Runs in the message's transaction (profiles/session-work.ts).
import { recordAudit } from '../store/queries/audit.ts';
import { updateOperation } from '../store/queries/devices.ts';
import { type ApplicationRow, operationsById, queuedApplicationsOf, updateApplication } from '../store/queries/profiles.ts';
import type { Tx } from '../store/store.ts';
import { settleIfAnswered } from './settle.ts';

/** Sends of an application's commands in all, the first included. */
export const MAX_ATTEMPTS = 3;

/** Status an unanswered command is failed with: Request Timeout, as expire.ts fails an idle session's. */
const NO_ANSWER = 408;

type OperationState = Awaited<ReturnType<typeof operationsById>>[number];

/** Sent, and no Status came: still 'sent' after its session, or failed by the idle sweep (408). */
export function unanswered(op: Pick<OperationState, 'state' | 'statusCode'>): boolean {
  return op.state === 'sent' || (op.state === 'failed' && op.statusCode === NO_ANSWER);
}

/** What to do with an application whose commands went unanswered (pure: the tests read it). */
export function lostDecision(attempts: number, lost: Array<Pick<OperationState, 'command' | 'uri'>>): { kind: 'resend' } | { kind: 'fail'; reason: string } {
  const exec = lost.find((op) => op.command === 'Exec');
  if (exec) return { kind: 'fail', reason: `the device never answered Exec ${exec.uri} (its session was lost); an Exec is not repeated automatically, as it may have run` };
  if (attempts >= MAX_ATTEMPTS) return { kind: 'fail', reason: `the device never answered ${lost.length} of its commands after ${attempts} attempts (each session was lost before the Statuses came back)` };
  return { kind: 'resend' };
}

/** Sends again (or gives up on) the device's applications whose commands were never answered; returns the campaigns whose deployments moved. */
export async function resendUnanswered(tx: Tx, deviceId: string, now: number): Promise<string[]> {
  const moved: string[] = [];
  for (const application of await queuedApplicationsOf(tx, deviceId)) {
    const ops = await operationsById(tx, JSON.parse(application.operationIds) as string[]);
    const lost = ops.filter(unanswered);
    if (lost.length === 0) continue;
    const decision = lostDecision(application.attempts, lost);
    if (decision.kind === 'resend') await resend(tx, application, lost, now);
    else {
      for (const op of lost) await updateOperation(tx, op.id, { state: 'failed', statusCode: NO_ANSWER, doneAt: now });
      const campaignId = await settleIfAnswered(tx, application, now, decision.reason);
      if (campaignId) moved.push(campaignId);
    }
  }
  return moved;
}

async function resend(tx: Tx, application: ApplicationRow, lost: OperationState[], now: number): Promise<void> {
  for (const op of lost) await updateOperation(tx, op.id, { state: 'queued', statusCode: null, sentAt: null, doneAt: null });
  const attempt = application.attempts + 1;
  await updateApplication(tx, application.id, { attempts: attempt });
  await recordAudit(tx, { actor: 'dm', action: 'device.profile-resent', subject: application.deviceId, details: { applicationId: application.id, attempt, of: MAX_ATTEMPTS, unanswered: lost.map((op) => ({ command: op.command, uri: op.uri })) } }, now);
}
