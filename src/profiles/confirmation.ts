// A profile application that asks the device's user first (`confirm` on a one-device
// apply, or on a configuration campaign): its operations are queued held behind the
// application's id (dm_operations.gate_id) and the DM session sends the prompt in their
// place (devices/user-gate.ts decides when). Accepted: the operations go out in the same
// session. Rejected, cancelled, not supported, or left unanswered: nothing is written, the
// application ends as canceled with the user's reason in the device's history, and a
// campaign's deployment is canceled with it, which is not a failure and does not count
// towards the campaign's thresholds (as a rejected firmware update). A timeout is asked
// again at the next session.
import { transition } from '../deployments/deployments.ts';
import type { DeploymentState } from '../deployments/policy.ts';
import { gateOfPolicy } from '../devices/confirm-policy.ts';
import { answerEffect, answerSaid, gateStep, type GateStep, userEnding } from '../devices/user-gate.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { findDeployment } from '../store/queries/deployments.ts';
import { type ApplicationRow, findApplication, updateApplication } from '../store/queries/profiles.ts';
import { confirmationPolicyOf, endGatedOperations, type UserPromptRow } from '../store/queries/user-prompts.ts';
import type { Tx } from '../store/store.ts';

const WHAT = 'the configuration change';

export interface GateSession {
  deviceId: string;
  inFlight: ReadonlySet<string>;
  sessionStart: number;
  now: number;
}

/** The step before an application's held operations: go when no confirmation is required. */
export async function applicationGateStep(tx: Tx, applicationId: string, session: GateSession): Promise<GateStep> {
  const application = await findApplication(tx, applicationId);
  if (!application || application.state !== 'queued') return { kind: 'wait' };
  const deployment = application.deploymentId ? await findDeployment(tx, application.deploymentId) : undefined;
  // A campaign's deployment that ended while its user had not answered (aborted, timed out): its change is not made.
  if (deployment && !['scheduled', 'commanded'].includes(deployment.state)) {
    await endApplication(tx, application, `its deployment ended (${deployment.state}) before the user answered`, session.now);
    return { kind: 'wait' };
  }
  const policy = await confirmationPolicyOf(tx, [application.id, ...(deployment ? [deployment.id] : []), ...(deployment?.campaignId ? [deployment.campaignId] : [])]);
  if (!policy) return { kind: 'go' };
  const step = await gateStep(tx, { deviceId: session.deviceId, subjectId: application.id, attempt: 1, ...gateOfPolicy(policy), inFlight: session.inFlight, sessionStart: session.sessionStart, now: session.now });
  if (step.kind === 'unanswered') await endApplication(tx, application, `the user did not answer (${step.asked} prompts): ${WHAT} is not confirmed`, session.now);
  return step;
}

/** What the user's answer does to the application; returns the campaign whose deployment moved, if any. */
export async function applyApplicationAnswer(tx: Tx, prompt: UserPromptRow, now: number): Promise<string | undefined> {
  const application = await findApplication(tx, prompt.subjectId);
  if (!application || application.state !== 'queued') return undefined;
  const effect = answerEffect(prompt.outcome);
  if (effect === 'end') return endApplication(tx, application, `${userEnding(prompt.outcome, WHAT)} (${answerSaid(prompt)})`, now);
  // A campaign's deployment keeps the answer in its history, as a firmware one does (and
  // its timeout counts from it: the device is not silent, its user is deciding).
  const deployment = application.deploymentId ? await findDeployment(tx, application.deploymentId, { forUpdate: true }) : undefined;
  if (deployment && ['scheduled', 'commanded'].includes(deployment.state)) {
    const cause = effect === 'go' ? `the user accepted ${WHAT} (${answerSaid(prompt)})` : `the user did not answer in time (${answerSaid(prompt)}); asking again at the next session`;
    // Accepted: the operations go out in this session, so the deployment is commanded now
    // (it waited scheduled for the answer, session-work.ts), as a firmware one is at its Exec.
    const state: DeploymentState = effect === 'go' ? 'commanded' : (deployment.state as DeploymentState);
    await transition(tx, deployment, state, cause, now);
    if (state !== deployment.state) return deployment.campaignId ?? undefined;
  }
  return undefined;
}

async function endApplication(tx: Tx, application: ApplicationRow, cause: string, now: number): Promise<string | undefined> {
  await endGatedOperations(tx, application.id, now);
  await updateApplication(tx, application.id, { state: 'canceled', doneAt: now });
  await recordAudit(tx, { actor: 'dm', action: 'device.profile-canceled', subject: application.deviceId, details: { applicationId: application.id, profileVersionId: application.profileVersionId, cause } }, now);
  if (!application.deploymentId) return undefined;
  const deployment = await findDeployment(tx, application.deploymentId, { forUpdate: true });
  if (!deployment || !['scheduled', 'commanded'].includes(deployment.state)) return undefined;
  await transition(tx, deployment, 'canceled', cause, now);
  return deployment.campaignId ?? undefined;
}
