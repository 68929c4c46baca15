// The user-interaction step inside a DM session: the prompt a gated action needs goes out
// as a UI Alert instead of the action's commands (which follow once the user accepted),
// and the device's Status on such an Alert is read as its user's answer. The decisions are
// the domain's (devices/user-gate.ts, deployments/confirmation.ts); this module only maps
// them to and from DM commands.
import { applyConfirmationAnswer, confirmationStep } from '../../deployments/confirmation.ts';
import { FUMO_NODE } from '../../deployments/fumo.ts';
import { recordUserAnswer } from '../../devices/user-gate.ts';
import type { Command } from '../../omadm/codec/message.ts';
import { type UiAnswer, uiAnswerOf } from '../../omadm/user-interaction.ts';
import type { Tx } from '../../store/store.ts';
import type { AwaitedCommand, ServerCommand } from './state.ts';

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
    const campaignId = prompt ? await applyConfirmationAnswer(tx, prompt, now) : undefined;
    if (campaignId) moved.add(campaignId);
  }
  return moved;
}

/** A deployment's FUMO commands behind its confirmation: the commands, the prompt, or nothing yet. */
export async function gatedFumo(tx: Tx, deploymentId: string, commands: ServerCommand[], session: { deviceId: string; inFlight: ReadonlySet<string>; sessionStart: number; now: number }): Promise<ServerCommand[]> {
  const step = await confirmationStep(tx, deploymentId, session);
  if (step.kind === 'go') return commands;
  if (step.kind !== 'ask') return [];
  return [{ kind: 'Alert', uri: FUMO_NODE, ui: step.prompt, promptId: step.promptId, deploymentId, purpose: 'fumo' }];
}

/** Prompts still out: awaited, or waiting to be sent. */
export function promptsInFlight(lists: ServerCommand[][]): Set<string> {
  return new Set(lists.flat().flatMap((c) => (c.promptId ? [c.promptId] : [])));
}
