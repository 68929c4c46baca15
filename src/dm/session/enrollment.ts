// First contact in a DM session (src/enroll/first-contact.ts decides; this is the DM side):
// which messages concern it, the commands it adds to the server's turn, and what the
// message settles, in the message's transaction. A message concerns it when it starts a
// session, or answers commands first contact sent earlier in the session: other messages
// read nothing more than before. A device whose claim does not match its batch (its model)
// is refused with 403 and nothing is stored.
import type { Logger } from 'pino';
import type { Context } from '../../context.ts';
import { type ContactStep, contactCommands, prepareContact, recordRefusedContact, settleContact } from '../../enroll/first-contact.ts';
import type { NamedDevice } from '../../store/queries/devices.ts';
import type { Tx } from '../../store/store.ts';
import type { ClientEffects } from './client-commands.ts';
import { type Answer, type Received, REFUSED_COMMAND, refusal } from './exchange.ts';
import type { AwaitedCommand, ServerCommand } from './state.ts';

export type EnrollmentTurn = Extract<ContactStep, { kind: 'proceed' }>;

export async function prepareEnrollment(
  ctx: Context,
  received: Received,
  input: { deviceId: string; startsSession: boolean; awaitingBefore: AwaitedCommand[]; effects: ClientEffects; pendingCredentials?: boolean; enrollment?: NamedDevice['enrollment'] },
  log: Logger,
): Promise<EnrollmentTurn | Answer | undefined> {
  const ours = (a: AwaitedCommand) => a.purpose === 'enroll';
  if (!input.startsSession && !input.awaitingBefore.some(ours)) return undefined;
  const step = await prepareContact(ctx, {
    deviceId: input.deviceId,
    startsSession: input.startsSession,
    authenticatedWithPending: input.pendingCredentials === true,
    reported: input.effects.inventory,
    answered: input.effects.answered.filter((a) => ours(a.entry)).map((a) => ({ kind: a.entry.kind, uri: a.entry.uri, code: a.code })),
    stillAwaiting: input.effects.awaiting.filter(ours).map((a) => ({ kind: a.kind, uri: a.uri })),
  }, input.enrollment);
  if (step?.kind === 'refuse') {
    await recordRefusedContact(ctx, input.deviceId, step);
    log.info({ batchId: step.batchId, reason: step.reason }, 'DM first contact refused');
    return refusal(received, 403, REFUSED_COMMAND);
  }
  return step;
}

/** First contact's commands, first in the server's turn (none when it is not the server's turn). */
export async function enrollmentCommands(tx: Tx, turn: EnrollmentTurn | undefined, serversTurn: boolean): Promise<ServerCommand[]> {
  if (!turn || !serversTurn) return [];
  return (await contactCommands(tx, turn)).map((c) => ({ ...c, purpose: 'enroll' as const }));
}

/** Stores what the message settled; `sent` says whether its new credentials went out in this reply. */
export async function settleEnrollment(tx: Tx, turn: EnrollmentTurn | undefined, sent: ServerCommand[], now: number): Promise<void> {
  if (!turn) return;
  await settleContact(tx, turn, sent.some((c) => c.purpose === 'enroll' && c.kind === 'Replace'), now);
}
