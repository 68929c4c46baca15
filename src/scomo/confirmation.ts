// A SCOMO operation that asks the device's user first: `confirm` on an operator's one-device
// operation, or on the model's baseline (its installs and updates; removals of forbidden
// components are not the user's to refuse). Before the operation's commands the device
// shows the text (Alert 1101) and the answer gates them (devices/user-gate.ts): accepted,
// the Replaces and the Exec follow in the same session, and a two-step install (Download,
// then Install) is not asked again unless the policy says eachStep. Rejected, cancelled,
// not supported or left unanswered: the deployment is canceled with the user's reason, not
// failed, and the baseline does not make the same change again (session.ts). A timeout is
// asked again at the next session.
import { type Confirm, gateOfPolicy, policyOfConfirm } from '../devices/confirm-policy.ts';
import { answerEffect, answerSaid, gateStep, type GateStep, userEnding } from '../devices/user-gate.ts';
import { findDevice } from '../store/queries/devices.ts';
import { findBaseline, findScomoDeployment, type ScomoDeploymentRow } from '../store/queries/scomo.ts';
import { confirmationPolicyOf, type UserPromptRow } from '../store/queries/user-prompts.ts';
import type { Tx } from '../store/store.ts';
import { transitionScomo } from './deployments.ts';
import { baselineSchema } from './schemas.ts';

const WHAT: Record<ScomoDeploymentRow['operation'], string> = { install: 'the install', remove: 'the removal', activate: 'the activation', deactivate: 'the deactivation' };

export interface GateSession {
  deviceId: string;
  inFlight: ReadonlySet<string>;
  sessionStart: number;
  now: number;
}

/** The step before a scheduled SCOMO deployment's commands: go when no confirmation is required. */
export async function scomoGateStep(tx: Tx, scomoId: string, session: GateSession): Promise<GateStep> {
  const row = await findScomoDeployment(tx, scomoId);
  if (!row || row.state !== 'scheduled') return { kind: 'wait' };
  const policy = await policyOf(tx, row);
  if (!policy) return { kind: 'go' };
  const step = await gateStep(tx, { deviceId: session.deviceId, subjectId: row.id, attempt: row.attempts + 1, ...gateOfPolicy(policy), inFlight: session.inFlight, sessionStart: session.sessionStart, now: session.now });
  if (step.kind === 'unanswered') {
    const locked = await findScomoDeployment(tx, row.id, { forUpdate: true });
    if (locked?.state === 'scheduled') await transitionScomo(tx, locked, 'canceled', `the user did not answer (${step.asked} prompts): ${WHAT[row.operation]} is not confirmed`, session.now);
  }
  return step;
}

/** The deployment's own policy, else the baseline's for an install the baseline made. */
async function policyOf(tx: Tx, row: ScomoDeploymentRow) {
  const own = await confirmationPolicyOf(tx, [row.id]);
  if (own) return own;
  if (row.reason !== 'baseline' || row.operation !== 'install') return undefined;
  const device = await findDevice(tx, row.deviceId);
  const baseline = device ? await findBaseline(tx, device.model) : undefined;
  const confirm: Confirm | undefined = baseline ? baselineSchema.parse(JSON.parse(baseline.spec)).confirm : undefined;
  return confirm ? policyOfConfirm(confirm) : undefined;
}

/** What the user's answer does to the SCOMO deployment it gates (recorded in its history). */
export async function applyScomoAnswer(tx: Tx, prompt: UserPromptRow, now: number): Promise<void> {
  const row = await findScomoDeployment(tx, prompt.subjectId, { forUpdate: true });
  if (!row || row.state !== 'scheduled') return;
  const what = WHAT[row.operation];
  const said = answerSaid(prompt);
  switch (answerEffect(prompt.outcome)) {
    case 'go':
      return transitionScomo(tx, row, 'scheduled', `the user accepted ${what} (${said})`, now);
    case 'again':
      return transitionScomo(tx, row, 'scheduled', `the user did not answer in time (${said}); asking again at the next session`, now);
    case 'end':
      return transitionScomo(tx, row, 'canceled', `${userEnding(prompt.outcome, what)} (${said})`, now);
  }
}
