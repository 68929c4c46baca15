// A deployment that asks the device's user first (`confirm` on a campaign or a one-device
// deployment): before its first FUMO Exec (before each one with `eachStep`) the device
// shows the text with Alert 1101 (confirm or reject) and the answer gates the commands
// (devices/user-gate.ts). Accepted: the FUMO
// commands follow in the same session. Rejected (304), cancelled (214), or a device that
// cannot ask (406): the deployment is canceled with that reason; it is the user's choice,
// not a failure of the software, and canceled deployments do not count towards a
// campaign's thresholds. Timed out (408) with no default response: asked again at the
// next session, up to MAX_UNANSWERED times, then canceled as unanswered.
import { findDeployment, type DeploymentRow } from '../store/queries/deployments.ts';
import { confirmationPolicyOf, type UserPromptRow } from '../store/queries/user-prompts.ts';
import type { Tx } from '../store/store.ts';
import { answerSaid, gateStep, type GateStep, userEnding } from '../devices/user-gate.ts';
import { gateOfPolicy } from '../devices/confirm-policy.ts';
import { transition } from './deployments.ts';
import type { DeploymentState } from './policy.ts';

/** The confirmation step before a deployment's FUMO commands: go when none is required. */
export async function confirmationStep(tx: Tx, deploymentId: string, session: { deviceId: string; inFlight: ReadonlySet<string>; sessionStart: number; now: number }): Promise<GateStep> {
  const row = await findDeployment(tx, deploymentId);
  if (!row) return { kind: 'wait' };
  const policy = await confirmationPolicyOf(tx, [row.id, ...(row.campaignId ? [row.campaignId] : [])]);
  if (!policy) return { kind: 'go' };
  const step = await gateStep(tx, { deviceId: session.deviceId, subjectId: row.id, attempt: row.attempts + 1, ...gateOfPolicy(policy), inFlight: session.inFlight, sessionStart: session.sessionStart, now: session.now });
  if (step.kind === 'unanswered') await endForUser(tx, row, `the user did not answer the confirmation (${step.asked} prompts)`, session.now);
  return step;
}

async function endForUser(tx: Tx, row: DeploymentRow, cause: string, now: number): Promise<void> {
  const locked = await findDeployment(tx, row.id, { forUpdate: true });
  if (locked && locked.state === 'scheduled') await transition(tx, locked, 'canceled', cause, now);
}

/**
 * What the user's answer does to the deployment it gates (recorded in its history).
 * Returns the campaign whose deployment moved, if any.
 */
export async function applyConfirmationAnswer(tx: Tx, prompt: UserPromptRow, now: number): Promise<string | undefined> {
  const row = await findDeployment(tx, prompt.subjectId, { forUpdate: true });
  if (!row || row.state !== 'scheduled') return undefined;
  const said = answerSaid(prompt);
  if (prompt.outcome === 'accepted') {
    await transition(tx, row, row.state as DeploymentState, `the user accepted the update (${said})`, now);
    return undefined;
  }
  if (prompt.outcome === 'timeout') {
    await transition(tx, row, row.state as DeploymentState, `the user did not answer in time (${said}); asking again at the next session`, now);
    return undefined;
  }
  await transition(tx, row, 'canceled', `${userEnding(prompt.outcome, 'the update')} (${said})`, now);
  return row.campaignId ?? undefined;
}
