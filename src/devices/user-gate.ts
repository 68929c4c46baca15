// Asking the device's user before the server acts: a gating step any action can require
// (a FUMO deployment, a SCOMO install, a profile application, a helpdesk query or fix:
// each caller names its subject by id). The step decides, for one attempt of a subject, whether to send the
// prompt (a DM user-interaction alert), wait for the answer, or go on; it records each
// prompt and its answer, and tells the device's history. What an answer does to the
// subject (a deployment canceled on a rejection) is the subject's business
// (deployments/confirmation.ts, scomo/confirmation.ts, profiles/confirmation.ts,
// devices/helpdesk/confirmation.ts), in the words userEnding gives them all. Runs inside
// the DM message's transaction.
import type { UiAnswer, UiPrompt } from '../omadm/user-interaction.ts';
import { UI_ALERT_CODES } from '../omadm/user-interaction.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { newId } from '../store/ids.ts';
import { answerUserPrompt, findUserPrompt, insertUserPrompt, promptsFor, promptsOfSubject, type UserPromptRow } from '../store/queries/user-prompts.ts';
import type { Tx } from '../store/store.ts';

/** Prompts left unanswered (timeouts, lost sessions) before the gate gives up on an attempt. */
export const MAX_UNANSWERED = 3;

export type GateStep =
  /** The user accepted: the gated commands go now. */
  | { kind: 'go' }
  /** A prompt is out (or its answer came in this session and did not allow going on). */
  | { kind: 'wait' }
  /** Send this prompt (recorded as asked). */
  | { kind: 'ask'; promptId: string; prompt: UiPrompt }
  /** No answer after MAX_UNANSWERED prompts: the subject ends without one. */
  | { kind: 'unanswered'; asked: number };

export interface GateInput {
  deviceId: string;
  /** What the answer gates (dep_, sdp_, pap_, qry_, op_), and which attempt of it. */
  subjectId: string;
  attempt: number;
  /** One acceptance covers every attempt of the subject (a two-step update asks once); false: each attempt asks. */
  once?: boolean;
  prompt: UiPrompt;
  /** Prompts still out in this session (awaited or not yet sent). */
  inFlight: ReadonlySet<string>;
  /** When the session began: a timeout answered in it is not asked again in it. */
  sessionStart: number;
  now: number;
}

const UNANSWERED = new Set([null, 'timeout']);

/** The next step for one attempt of a subject that requires its user's answer. */
export async function gateStep(tx: Tx, input: GateInput): Promise<GateStep> {
  const prompts = await promptsFor(tx, input.subjectId, input.attempt);
  const latest = prompts[0];
  if (latest?.outcome === 'accepted') return { kind: 'go' };
  if (input.once && input.attempt > 1 && (await promptsOfSubject(tx, input.subjectId)).some((p) => p.outcome === 'accepted')) return { kind: 'go' };
  // Other answers (rejected, cancelled, unsupported) ended the subject when they came.
  if (latest && !UNANSWERED.has(latest.outcome)) return { kind: 'wait' };
  if (latest && latest.outcome === null && input.inFlight.has(latest.id)) return { kind: 'wait' };
  if (latest && latest.outcome === 'timeout' && (latest.answeredAt ?? 0) >= input.sessionStart) return { kind: 'wait' };
  // A prompt whose session ended without an answer counts as unanswered.
  if (latest && latest.outcome === null) await answerUserPrompt(tx, latest.id, { answeredAt: input.now, outcome: 'timeout', statusCode: null, answer: null });
  const unanswered = prompts.filter((p) => UNANSWERED.has(p.outcome)).length;
  if (unanswered >= MAX_UNANSWERED) return { kind: 'unanswered', asked: unanswered };
  const promptId = newId('uip');
  await insertUserPrompt(tx, { id: promptId, deviceId: input.deviceId, subjectId: input.subjectId, attempt: input.attempt, code: UI_ALERT_CODES[input.prompt.kind], text: input.prompt.text, askedAt: input.now });
  await recordAudit(tx, { actor: 'dm', action: 'dm.user-prompt', subject: input.deviceId, details: { promptId, subjectId: input.subjectId, alert: UI_ALERT_CODES[input.prompt.kind], text: input.prompt.text, ...(input.prompt.options.maxSeconds === undefined ? {} : { maxSeconds: input.prompt.options.maxSeconds }) } }, input.now);
  return { kind: 'ask', promptId, prompt: input.prompt };
}

/** Records the device's answer to a prompt; undefined for a prompt unknown or already answered (a resend). */
export async function recordUserAnswer(tx: Tx, deviceId: string, promptId: string, answer: UiAnswer, now: number): Promise<UserPromptRow | undefined> {
  const prompt = await findUserPrompt(tx, promptId);
  if (!prompt || prompt.deviceId !== deviceId || prompt.outcome !== null) return undefined;
  const changes = { answeredAt: now, outcome: answer.outcome, statusCode: answer.code, answer: answer.values.length > 0 ? JSON.stringify(answer.values) : null };
  await answerUserPrompt(tx, promptId, changes);
  await recordAudit(tx, { actor: 'dm', action: 'dm.user-answer', subject: deviceId, details: { promptId, subjectId: prompt.subjectId, outcome: answer.outcome, status: answer.code, ...(answer.values.length > 0 ? { values: answer.values } : {}) } }, now);
  return { ...prompt, ...changes };
}

/** What an answer does to the subject it gates: go on, ask again at the next session, or end it. */
export function answerEffect(outcome: string | null): 'go' | 'again' | 'end' {
  return outcome === 'accepted' ? 'go' : outcome === null || outcome === 'timeout' ? 'again' : 'end';
}

/**
 * Why a subject ended on its user's answer, in the same words for every kind of work
 * ("the user rejected the install"): the user's choice, not a failure of the software.
 */
export function userEnding(outcome: string | null, what: string): string {
  switch (outcome) {
    case 'rejected':
      return `the user rejected ${what}`;
    case 'cancelled':
      return `the user cancelled ${what}`;
    case 'unsupported':
      return `the device cannot ask its user: ${what} is not confirmed`;
    default:
      return `the device could not ask its user: ${what} is not confirmed`;
  }
}

/** The answer as the subject's history tells it: "Alert 1101 answered 304". */
export function answerSaid(prompt: Pick<UserPromptRow, 'code' | 'statusCode'>): string {
  return `Alert ${prompt.code} answered ${prompt.statusCode ?? '-'}`;
}
