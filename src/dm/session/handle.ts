// One OMA DM message in, one reply out, as a pipeline of phases:
//
//   decode (decode.ts)  ->  identify and authenticate (identify.ts)
//   ->  read the device's commands (client-commands.ts)
//   ->  in one transaction: plan the server's (plan.ts), build the reply (reply.ts),
//       persist (persist.ts)  ->  signal
//
// Each phase takes what the one before gave and may end the message with an answer. A
// message that fails anywhere stores nothing: before the transaction nothing is written,
// and inside it a failure rolls back. The plan reads the queue and the deployment in the
// transaction that stores what it sent: one snapshot, and on SQLite the write connection,
// whose page cache the commits of others do not throw away as they do the read-only
// one's (bench/dm.ts). The transaction holds no I/O besides the database.
import type { Context } from '../../context.ts';
import { footingAt } from '../../store/queries/footing.ts';
import { BatchRolledBack } from '../../store/store.ts';
import { readClientCommands } from './client-commands.ts';
import { decodeRequest } from './decode.ts';
import { enrollmentCommands, prepareEnrollment, settleEnrollment } from './enrollment.ts';
import { type DmRequest, type DmResponse, isAnswer, syncml } from './exchange.ts';
import type { DmGuard } from './guard.ts';
import { identify } from './identify.ts';
import { messageLog } from './message-log.ts';
import { endsSession, newSession, type Outcome, persistOutcome } from './persist.ts';
import { type PlanInput, planCommands, planSettings } from './plan.ts';
import { buildReply, type ReplyInput } from './reply.ts';
import { applyAssembled, assemble, buffered, chunkData, interruptionAlerts, storeChunks } from './large-objects.ts';
import { withoutRefusedValues } from './outgoing-objects.ts';
import { pendingFromRest } from './secrets-at-rest.ts';
import { awaitingOf } from './state.ts';
import { applyPromptAnswers, promptAnswersIn } from './user-gate.ts';

export type { DmRequest, DmResponse } from './exchange.ts';

/**
 * Times a message is handled again after its transaction's batch was rolled back for
 * another message's failure (BatchRolledBack, store.ts): each time another message failed
 * beside it, so this bounds only a run of such failures.
 */
const AGAIN = 3;

export async function handleDmMessage(ctx: Context, guard: DmGuard, request: DmRequest): Promise<DmResponse> {
  for (let again = 0; ; again += 1) {
    try {
      return await handleOnce(ctx, guard, request);
    } catch (err) {
      if (!(err instanceof BatchRolledBack) || again === AGAIN) throw err;
      // From the start: nothing of it was stored, and what it read before its transaction
      // may have changed since. Up to the transaction a message that gets there stores
      // nothing and counts nothing (decode.ts, identify.ts), so doing that again is safe.
      ctx.log.debug({ again: again + 1, cause: err.message }, 'DM message handled again: another message of its batch failed');
    }
  }
}

async function handleOnce(ctx: Context, guard: DmGuard, request: DmRequest): Promise<DmResponse> {
  const received = decodeRequest(request, ctx.config.dm.maxMessageBytes, guard);
  if (isAnswer(received)) return received.answer;
  const { message } = received;
  const h = message.header;
  const now = ctx.clock.now();
  const log = messageLog(ctx.log, { devId: h.source, sessionId: h.sessionId, msgId: h.msgId });

  const identified = await identify(ctx, guard, received, now, log);
  if (isAnswer(identified)) return identified.answer;
  const { device, decision } = identified;
  const session = identified.session ?? newSession(device, h.sessionId, h.msgId - 1, now);

  // Chunks of large objects are buffered; a completed one is read whole (large-objects.ts).
  const awaitingBefore = awaitingOf(session.awaiting);
  const answersGet = (msgRef: number | undefined, cmdRef: number) => awaitingBefore.some((a) => a.kind === 'Get' && a.cmdId === cmdRef && (msgRef === undefined || a.msgId === msgRef));
  const assembled = await assemble(h, message.commands, message.final, { sessionId: session.id, rows: await buffered(ctx.db, identified.session, message.commands), maxObjSize: ctx.config.dm.maxObjectBytes, load: () => chunkData(ctx.db, session.id), answersGet });
  const answers = promptAnswersIn(message.commands, awaitingBefore);
  const effects = readClientCommands(h, assembled.commands, awaitingBefore);
  applyAssembled(effects, assembled);
  if (effects.strayStatuses) log.warn({ count: effects.strayStatuses }, 'Status or Results for commands the server never sent, ignored');
  // Enrollment's first contact (claims, re-provisioning): enrollment.ts.
  const enrollmentInput: Parameters<typeof prepareEnrollment>[2] = { deviceId: device.id, startsSession: identified.session === undefined, awaitingBefore, effects, pendingCredentials: identified.pendingCredentials === true };
  if (identified.enrollment !== undefined) enrollmentInput.enrollment = identified.enrollment;
  const enrollment = await prepareEnrollment(ctx, received, enrollmentInput, log);
  if (enrollment !== undefined && isAnswer(enrollment)) return enrollment.answer;

  const maxMsgSize = h.meta?.maxMsgSize ?? session.maxMsgSize ?? undefined;
  const maxObjSize = h.meta?.maxObjSize ?? session.maxObjSize ?? undefined;
  const results: number[] = [];
  const options = { now, sessionIdleMs: ctx.config.dm.sessionIdleMs, retryBackoffMs: ctx.config.campaigns.retryBackoffMs, log, results, vault: ctx.vault };
  const settings = planSettings(ctx, { device, session, effects });
  const { outcome, campaignsMoved } = await ctx.db.transaction(async (tx) => {
    results.length = 0;
    // The footing read with the device (identify.ts), as of this transaction's start: a
    // write of its topics from here on makes it stale (store/queries/footing.ts).
    const footing = identified.footing === undefined ? undefined : footingAt(tx, identified.footing);
    await storeChunks(tx, session.id, assembled.writes);
    const answered = await applyPromptAnswers(tx, device.id, answers, now);
    // The pending commands beside the session row, not a copy of its 19 columns with them changed.
    const pending = pendingFromRest(ctx.vault, withoutRefusedValues(session.pending, effects));
    const planInput: PlanInput = { device, session, pending, effects, final: message.final, serverUrl: request.serverUrl, now };
    if (footing) planInput.footing = footing;
    const plan = await planCommands(tx, settings, planInput);
    plan.commands.unshift(...interruptionAlerts(assembled));
    plan.commands.unshift(...(await enrollmentCommands(tx, enrollment, message.final && !effects.aborted)));
    // The optional fields set after the literal, not spread into it: conditional spreads
    // between fields cost ten times as much (V8's generic copy), in a micro-benchmark.
    const replyInput: ReplyInput = {
      received: h,
      headerStatus: decision.status,
      statuses: effects.statuses,
      commands: plan.commands,
      askForMore: plan.askForMore,
      msgId: session.serverMsgId + 1,
      serverUrl: request.serverUrl,
      respUri: `${request.serverUrl}?s=${session.id}`,
      ownMaxMsgSize: received.ownMaxMsgSize,
      ownMaxObjSize: ctx.config.dm.maxObjectBytes,
      encode: received.encode,
    };
    if (decision.chal) replyInput.chal = decision.chal;
    if (plan.cred) replyInput.cred = plan.cred;
    if (maxMsgSize) replyInput.maxMsgSize = maxMsgSize;
    if (maxObjSize) replyInput.maxObjSize = maxObjSize;
    const reply = buildReply(replyInput);
    const settled: Outcome = {
      device,
      session,
      isNew: identified.session === undefined,
      decision,
      effects,
      plan,
      reply,
      msgId: h.msgId,
      contentType: request.contentType,
      final: message.final,
    };
    if (identified.replaces) settled.replaces = identified.replaces;
    if (h.meta?.maxMsgSize) settled.maxMsgSize = h.meta.maxMsgSize;
    if (h.meta?.maxObjSize) settled.maxObjSize = h.meta.maxObjSize;
    if (assembled.open !== undefined) settled.receivingObject = assembled.open;
    const campaignsMoved = await persistOutcome(tx, settled, options);
    for (const id of answered) campaignsMoved.add(id);
    await settleEnrollment(tx, enrollment, reply.sent, now);
    return { outcome: settled, campaignsMoved };
    // Grouped: the messages of one turn of the event loop share a COMMIT (store/sqlite.ts).
    // Of the device's own rows it writes only this device's (enrollment: its own), so other
    // devices' lookups may still use the writer until that COMMIT (Store.readsOf).
  }, { grouped: true, device: device.id });
  const { reply } = outcome;
  // Campaigns react to every result (the next stage may start, or the campaign pause), and
  // a device seen may join a dynamic campaign: both after this request, not inside it.
  for (const campaignId of campaignsMoved) ctx.signals.emit({ kind: 'campaign-moved', campaignId });
  // Counted once committed: a rolled-back message began no session and applied no result.
  if (outcome.isNew) ctx.tally.dmSessions += 1;
  for (const code of results) ctx.tally.result(code);
  ctx.signals.emit({ kind: 'device-seen', deviceId: device.id });
  // Routine, like the request line: debug (README, Logs).
  // Asked of the server's logger, whose level the message's shares: not through the message log's proxy.
  if (ctx.log.isLevelEnabled('debug')) log.debug({ commands: reply.sent.length, pending: reply.leftover.length, ended: endsSession(outcome) }, 'DM message answered');
  return syncml(received, reply.bytes).answer;
}
