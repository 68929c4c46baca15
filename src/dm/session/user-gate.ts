// The user-interaction step inside a DM session: the prompt a gated action needs goes out
// as a UI Alert instead of the action's commands (which follow once the user accepted),
// and the device's Status on such an Alert is read as its user's answer. One gate
// (devices/user-gate.ts), several callers, each deciding for its own work by id: FUMO
// deployments (dep_, deployments/confirmation.ts), SCOMO deployments (sdp_,
// scomo/confirmation.ts), profile applications (pap_, profiles/confirmation.ts), live
// queries and fixes (qry_, devices/helpdesk/confirmation.ts). This module only maps them
// to and from DM commands.
import { applyConfirmationAnswer, confirmationStep } from '../../deployments/confirmation.ts';
import { FUMO_NODE } from '../../deployments/fumo.ts';
import { applyQueryAnswer, queryGateStep } from '../../devices/helpdesk/confirmation.ts';
import { type GateStep, recordUserAnswer } from '../../devices/user-gate.ts';
import type { Command } from '../../omadm/codec/message.ts';
import { type UiAnswer, uiAnswerOf } from '../../omadm/user-interaction.ts';
import { applyApplicationAnswer, applicationGateStep } from '../../profiles/confirmation.ts';
import { applyScomoAnswer, scomoGateStep } from '../../scomo/confirmation.ts';
import type { DmOperationRow } from '../../store/queries/devices.ts';
import type { UserPromptRow } from '../../store/queries/user-prompts.ts';
import type { Tx } from '../../store/store.ts';
import type { AwaitedCommand, ServerCommand } from './state.ts';

export interface GateSession {
  deviceId: string;
  inFlight: ReadonlySet<string>;
  sessionStart: number;
  now: number;
}

export interface PromptAnswer {
  promptId: string;
  answer: UiAnswer;
}

/** The answers in the device's message: Statuses on the UI Alerts the server sent. */
export function promptAnswersIn(commands: Command[], awaiting: AwaitedCommand[]): PromptAnswer[] {
  const answers: PromptAnswer[] = [];
  for (const c of commands) {
    if (c.kind !== 'Status' || c.cmd !== 'Alert') continue;
    const entry = awaiting.find((a) => a.kind === 'Alert' && a.cmdId === c.cmdRef && a.msgId === c.msgRef);
    if (entry?.promptId && entry.ui) answers.push({ promptId: entry.promptId, answer: uiAnswerOf(entry.ui.kind, c) });
  }
  return answers;
}

/** Records the answers and applies them to what they gate; returns the campaigns whose deployments moved. */
export async function applyPromptAnswers(tx: Tx, deviceId: string, answers: PromptAnswer[], now: number): Promise<Set<string>> {
  const moved = new Set<string>();
  for (const { promptId, answer } of answers) {
    const prompt = await recordUserAnswer(tx, deviceId, promptId, answer, now);
    const campaignId = prompt ? await applyAnswer(tx, prompt, now) : undefined;
    if (campaignId) moved.add(campaignId);
  }
  return moved;
}

/** The answer to the work it gates, by the kind of its id. */
async function applyAnswer(tx: Tx, prompt: UserPromptRow, now: number): Promise<string | undefined> {
  const kind = prompt.subjectId.slice(0, prompt.subjectId.indexOf('_'));
  switch (kind) {
    case 'sdp':
      await applyScomoAnswer(tx, prompt, now);
      return undefined;
    case 'pap':
      return applyApplicationAnswer(tx, prompt, now);
    case 'qry':
      await applyQueryAnswer(tx, prompt, now);
      return undefined;
    default:
      return applyConfirmationAnswer(tx, prompt, now);
  }
}

/** A deployment's FUMO commands behind its confirmation: the commands, the prompt, or nothing yet. */
export async function gatedFumo(tx: Tx, deploymentId: string, commands: ServerCommand[], session: GateSession): Promise<ServerCommand[]> {
  const step = await confirmationStep(tx, deploymentId, session);
  if (step.kind === 'go') return commands;
  if (step.kind !== 'ask') return [];
  return [{ kind: 'Alert', uri: FUMO_NODE, ui: step.prompt, promptId: step.promptId, deploymentId, purpose: 'fumo' }];
}

/** Prompts still out: awaited, or waiting to be sent. */
export function promptsInFlight(lists: ServerCommand[][]): Set<string> {
  // Loops, not flat().flatMap(): V8's cost some 0.7 µs an item, run twice or more a message (bench/dm.ts).
  const prompts = new Set<string>();
  for (const list of lists) for (const c of list) if (c.promptId) prompts.add(c.promptId);
  return prompts;
}

/**
 * SCOMO commands behind their deployments' confirmations: each deployment's commands, its
 * prompt, or nothing yet. Inventory reads (no deployment) are never held.
 */
export async function gatedScomo<C extends { scomoId?: string | undefined }>(tx: Tx, commands: C[], session: GateSession): Promise<Array<C | ServerCommand>> {
  const ids = [...new Set(commands.map((c) => c.scomoId).filter((id): id is string => id !== undefined && id !== ''))];
  if (ids.length === 0) return commands;
  const steps = new Map<string, GateStep>();
  for (const id of ids) steps.set(id, await scomoGateStep(tx, id, session));
  const out: Array<C | ServerCommand> = commands.filter((c) => !c.scomoId || steps.get(c.scomoId)?.kind === 'go');
  // No scomoId on the prompt: its answer is not a Status of the deployment's commands, which may follow in the same message.
  for (const step of steps.values()) if (step.kind === 'ask') out.push({ kind: 'Alert', uri: '.', ui: step.prompt, promptId: step.promptId, purpose: 'scomo' });
  return out;
}

/**
 * Queued operations behind their work items' confirmations (dm_operations.gate_id: a
 * profile application, a live query, a fix): the operations that may go now and the
 * prompts to send in place of the others. Operations of no gate go as they are, with no
 * read at all when none is gated.
 */
export async function gatedOperations(tx: Tx, operations: DmOperationRow[], session: GateSession): Promise<{ operations: DmOperationRow[]; prompts: ServerCommand[] }> {
  const gates = [...new Set(operations.map((op) => op.gateId).filter((id): id is string => id !== null && id !== ''))];
  if (gates.length === 0) return { operations, prompts: [] };
  const steps = new Map<string, GateStep>();
  for (const gateId of gates) steps.set(gateId, gateId.startsWith('pap_') ? await applicationGateStep(tx, gateId, session) : await queryGateStep(tx, gateId, session));
  const prompts: ServerCommand[] = [];
  for (const step of steps.values()) if (step.kind === 'ask') prompts.push({ kind: 'Alert', uri: '.', ui: step.prompt, promptId: step.promptId, purpose: 'operation' });
  return { operations: operations.filter((op) => !op.gateId || steps.get(op.gateId)?.kind === 'go'), prompts };
}
