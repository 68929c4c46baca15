// A live query or a fix that asks the device's user first (`confirm`): its operations are
// queued held behind the query's id (a fix: behind its own gate id) and the DM session
// sends the prompt in their place (devices/user-gate.ts decides when). Accepted: the reads
// (or the Replace and its re-read) go out in the same session. Rejected, cancelled, not
// supported, or left unanswered: nothing is read or written, the held operations end as
// failed without a Status, and the device's history says why. A timeout is asked again at
// the next session.
import { gateOfPolicy } from '../confirm-policy.ts';
import { recordAudit } from '../../store/queries/audit.ts';
import { confirmationPolicyOf, endGatedOperations, latestPromptOf, type UserPromptRow } from '../../store/queries/user-prompts.ts';
import type { Tx } from '../../store/store.ts';
import { answerEffect, answerSaid, gateStep, type GateStep, userEnding } from '../user-gate.ts';

/** The gate of a fix: the query's id, "fix" and the fix's position (unique within the query). */
export function fixGateId(queryId: string, position: number): string {
  return `${queryId}.fix.${position}`;
}

const whatOf = (gateId: string) => (gateId.includes('.fix.') ? 'the fix' : 'the query');

export interface GateSession {
  deviceId: string;
  inFlight: ReadonlySet<string>;
  sessionStart: number;
  now: number;
}

/** The step before a query's (or a fix's) held operations: go when no confirmation is required. */
export async function queryGateStep(tx: Tx, gateId: string, session: GateSession): Promise<GateStep> {
  const policy = await confirmationPolicyOf(tx, [gateId]);
  if (!policy) return { kind: 'go' };
  const step = await gateStep(tx, { deviceId: session.deviceId, subjectId: gateId, attempt: 1, ...gateOfPolicy(policy), inFlight: session.inFlight, sessionStart: session.sessionStart, now: session.now });
  if (step.kind === 'unanswered') await endGate(tx, session.deviceId, gateId, `the user did not answer (${step.asked} prompts): ${whatOf(gateId)} is not confirmed`, session.now);
  return step;
}

/** What the user's answer does to the query or fix it gates. */
export async function applyQueryAnswer(tx: Tx, prompt: UserPromptRow, now: number): Promise<void> {
  if (answerEffect(prompt.outcome) !== 'end') return;
  await endGate(tx, prompt.deviceId, prompt.subjectId, `${userEnding(prompt.outcome, whatOf(prompt.subjectId))} (${answerSaid(prompt)})`, now);
}

async function endGate(tx: Tx, deviceId: string, gateId: string, cause: string, now: number): Promise<void> {
  const ended = await endGatedOperations(tx, gateId, now);
  if (ended.length === 0) return;
  const [queryId] = gateId.split('.fix.');
  await recordAudit(tx, { actor: 'dm', action: gateId.includes('.fix.') ? 'device.fix-canceled' : 'device.query-canceled', subject: deviceId, details: { queryId, operations: ended.length, cause } }, now);
}

/** The query's own confirmation as its view shows it; null when it did not ask. */
export async function confirmationOf(tx: Tx, queryId: string): Promise<{ text: string; state: string; answeredAt: string | null } | null> {
  const policy = await confirmationPolicyOf(tx, [queryId]);
  if (!policy) return null;
  const prompt = await latestPromptOf(tx, queryId);
  return { text: policy.text, state: prompt ? (prompt.outcome ?? 'asking') : 'waiting', answeredAt: prompt?.answeredAt ? new Date(prompt.answeredAt).toISOString() : null };
}
