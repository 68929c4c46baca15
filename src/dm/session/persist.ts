// Phase 6 of a DM message, the only one that writes: in one transaction, the device (seen,
// its inventory, its next nonce, a cleared failure count), the session (where it stands,
// what it awaits, the reply for a resend), the operations sent and answered, the FUMO
// deployments moved, and the audit of the device's alerts. Takes `tx` all the way down.
import type { Logger } from 'pino';
import { randomText } from '../../http/random-pool.ts';
import { inventoryWith } from '../../devices/inventory-text.ts';
import { applyFumo, type FumoEffects, markFumoSent } from '../../deployments/fumo.ts';
import { settleApplications } from '../../profiles/settle.ts';
import { applyScomo, markScomoSent } from '../../scomo/session.ts';
import { settleAppDeployment } from '../../scomo/campaign-work.ts';
import { SCOMO_ROOT } from '../../omadm/scomo.ts';
import { recordAudit } from '../../store/queries/audit.ts';
import { type DeviceRow, type DmOperationRow, type DmSessionRow, insertSession, markOperationsSent, requeueOperations, updateDevice, updateOperation, updateSession } from '../../store/queries/devices.ts';
import type { Tx } from '../../store/store.ts';
import type { KeyVault } from '../../signing/vault.ts';
import type { AuthOk } from './authenticate.ts';
import type { ClientEffects } from './client-commands.ts';
import { keptPending } from './outgoing-objects.ts';
import type { Plan } from './plan.ts';
import type { Reply } from './reply.ts';
import { awaitedAtRest, pendingAtRest, replyAtRest } from './secrets-at-rest.ts';
import { awaitingText, pendingText, type ServerCommand } from './state.ts';

/**
 * How exact a device's last seen is (README, Devices): a message that changes nothing else
 * of the device writes it only once the stored one is this old.
 */
export const LAST_SEEN_STEP_MS = 60_000;

const SCOMO_PREFIX = `${SCOMO_ROOT}/`;

/** Everything one message settled, ready to store. */
export interface Outcome {
  device: DeviceRow;
  session: DmSessionRow;
  /** The session row does not exist yet. */
  isNew: boolean;
  /** An open session this message ends (the device started over under its SessionID). */
  replaces?: string;
  decision: AuthOk;
  effects: ClientEffects;
  plan: Plan;
  reply: Reply;
  /** The device's message: its MsgID, MaxMsgSize, encoding. */
  msgId: number;
  maxMsgSize?: number;
  maxObjSize?: number;
  /** Whether a large object is still being received after this message (large-objects.ts). */
  receivingObject?: boolean;
  contentType: string;
  final: boolean;
}

export interface PersistOptions {
  now: number;
  sessionIdleMs: number;
  retryBackoffMs: number;
  log: Logger;
  /** Seals what the session row keeps of a secret (secrets-at-rest.ts). */
  vault: KeyVault;
  /** Gets the FUMO result codes this message applied, for /metrics once the transaction commits. */
  results?: number[];
}

/**
 * A session starts once its device authenticated; its token is 144 random bits after the
 * time it began (base 36, fixed width): tokens made later sort later, so the token's index
 * (dm_sessions' primary key) grows at its end, where the sessions of one grouped COMMIT share
 * a page, instead of one page anywhere in it per new session (a fifth of the pages a DM
 * COMMIT wrote, bench/dm.ts). The time says nothing a device did not know.
 */
export function newSession(device: DeviceRow, sessionId: string, clientMsgId: number, now: number): DmSessionRow {
  return {
    id: `dms_${now.toString(36).padStart(9, '0')}${randomText(18, 'base64url')}`,
    deviceId: device.id,
    sessionId,
    state: 'open',
    clientMsgId,
    // Server MsgIDs answer client MsgIDs one to one, challenges before the session included.
    serverMsgId: clientMsgId,
    awaiting: '[]',
    pending: '[]',
    lastReply: null,
    lastReplyType: null,
    maxMsgSize: null,
    maxObjSize: null,
    receivingObject: false,
    authNonce: null,
    serverAuthenticated: false,
    inventoryChecked: false,
    createdAt: now,
    updatedAt: now,
    expiresAt: now,
  };
}

/** Whether the reply ends the session: the device aborted, or nothing is left to send. */
export function endsSession(outcome: Pick<Outcome, 'effects' | 'final' | 'reply'>): boolean {
  return outcome.effects.aborted || (outcome.final && outcome.reply.sent.length === 0 && outcome.reply.leftover.length === 0);
}

/** Stores the outcome; returns the campaigns whose deployments moved. */
export async function persistOutcome(tx: Tx, x: Outcome, options: PersistOptions): Promise<Set<string>> {
  const { device, effects, plan, reply } = x;
  const { now, log } = options;
  const reported = effects.inventory;
  // The inventory is written only when the message reported nodes.
  let nodes: Array<[uri: string, value: string]> | undefined;
  // The SCOMO tree goes to the application inventory (applyScomo below), not here.
  for (const uri in reported) {
    if (uri.startsWith(SCOMO_PREFIX)) continue;
    (nodes ??= []).push([uri, reported[uri] as string]);
  }
  // Only the columns that change: a column left out is an index not rewritten (firmware
  // version: devices_model_version) and a shorter statement (bench/dm.ts).
  // Assigned in place, in this order (the statement's text), last seen first: an object
  // spread of a computed key per column cost more than the rest of this function
  // (bench/dm.ts).
  const deviceChanges: Partial<DeviceRow> = { lastSeen: now };
  let deviceChanged = false;
  const changed = <K extends keyof DeviceRow>(key: K, value: DeviceRow[K] | undefined) => {
    if (value === undefined || value === device[key]) return;
    deviceChanges[key] = value;
    deviceChanged = true;
  };
  changed('clientNonce', x.decision.nextNonce || undefined);
  changed('authFailures', 0);
  changed('authLockedUntil', null);
  if (nodes) {
    // Edited in its text, not parsed and written again whole (devices/inventory-text.ts).
    deviceChanges.inventory = inventoryWith(device.inventory, nodes, now);
    deviceChanged = true;
  }
  changed('manufacturer', reported['./DevInfo/Man'] || undefined);
  changed('firmwareVersion', reported['./DevDetail/FwV'] || undefined);
  changed('serverNonce', plan.serverNonce || undefined);
  // Last seen goes with any other change of the device, else once it is LAST_SEEN_STEP_MS
  // old: the messages of a session that change nothing of the device write nothing to it.
  if (deviceChanged || device.lastSeen === null || now - device.lastSeen >= LAST_SEEN_STEP_MS) await updateDevice(tx, device.id, deviceChanges);
  if (x.replaces) await updateSession(tx, x.replaces, { state: 'ended', updatedAt: now });
  // Fields added in this order (the statement's text), not spread in: a literal with
  // conditional spreads between its fields cost ten times one filled in place (V8 copies
  // each spread through its generic path), in a micro-benchmark.
  const changes: Partial<DmSessionRow> = {
    state: endsSession(x) ? 'ended' : 'open',
    authNonce: x.decision.verifiedWith ?? null,
    serverAuthenticated: plan.serverAuthenticated,
    inventoryChecked: plan.inventoryChecked,
    clientMsgId: x.msgId,
    serverMsgId: reply.message.header.msgId,
    awaiting: awaitingText(awaitedAtRest([...effects.awaiting, ...reply.sent])),
    // Operations that did not fit stay queued (the next message reads them again), so an
    // interrupted package leaves them for the next session instead of 'sent' and lost.
    // The rest of a large value (outgoing-objects.ts) stays though it carries an operation.
    pending: pendingText(pendingAtRest(options.vault, keptPending(reply.leftover))),
    lastReply: replyAtRest(options.vault, reply.bytes, reply.sent),
    lastReplyType: x.contentType,
  };
  if (x.maxMsgSize) changes.maxMsgSize = x.maxMsgSize;
  if (x.maxObjSize) changes.maxObjSize = x.maxObjSize;
  if (x.receivingObject !== undefined) changes.receivingObject = x.receivingObject;
  changes.updatedAt = now;
  // A prompt sent to the device's user keeps the session open while the user may answer (MAXDT).
  changes.expiresAt = now + options.sessionIdleMs + longestPromptMs(reply.sent);
  // Object.assign, not { ...x.session, ...changes }: the spreads took V8's generic copy.
  if (x.isNew) await insertSession(tx, Object.assign({}, x.session, changes));
  else await updateSession(tx, x.session.id, changes);

  await storeOperationsSent(tx, plan, reply, now);
  for (const c of reply.sent) if (c.deploymentId && c.kind === 'Exec') await markFumoSent(tx, c.deploymentId, now, c.packageId);
  for (const c of reply.tooLarge) {
    if (c.opId) await updateOperation(tx, c.opId, { state: 'failed', statusCode: 413, doneAt: now });
    log.warn({ uri: c.uri, opId: c.opId }, 'command larger than the device accepts (MaxMsgSize); not sent');
  }
  // Optional fields set after the literals, as the session's changes above.
  const fumoEffects: FumoEffects = { execStatuses: effects.fumoExecStatuses, alerts: effects.genericAlerts };
  if (reported['./DevDetail/FwV'] !== undefined) fumoEffects.firmwareVersion = reported['./DevDetail/FwV'];
  const fumoOptions: Parameters<typeof applyFumo>[5] = { retryBackoffMs: options.retryBackoffMs };
  if (options.results) fumoOptions.results = options.results;
  if (plan.active) fumoOptions.active = plan.active;
  const moved = await applyFumo(tx, device.id, fumoEffects, now, log, fumoOptions);
  await markScomoSent(tx, reply.sent, now);
  await applyScomo(tx, device.id, effects, now, log);
  // An application campaign's deployment settles with its SCOMO operation (scomo/campaign-work.ts).
  const appCampaign = await settleAppDeployment(tx, device.id, effects, now, plan.active);
  if (appCampaign) moved.add(appCampaign);
  for (const update of effects.operations) {
    // In the statement's column order, filled in place (as the session's changes above).
    const operation: Partial<DmOperationRow> = { state: update.state };
    if (update.statusCode !== undefined) operation.statusCode = update.statusCode;
    if (update.result) operation.result = JSON.stringify(update.result);
    if (update.state !== 'sent') operation.doneAt = now;
    await updateOperation(tx, update.opId, operation);
  }
  // A profile application whose commands are all answered settles now (profiles/settle.ts).
  const answered = [...effects.operations.map((o) => o.opId), ...opIdsOf(reply.tooLarge)];
  for (const campaignId of await settleApplications(tx, device.id, answered, now, plan.footing)) moved.add(campaignId);
  for (const campaignId of plan.campaignsMoved ?? []) moved.add(campaignId);
  for (const alert of effects.genericAlerts) await recordAudit(tx, { actor: 'dm', action: 'dm.generic-alert', subject: device.id, details: { ...alert } }, now);
  return moved;
}

/**
 * The operations the reply carried are sent: marked so now, but for those the plan took from
 * the queue as sent already (plan.ts, takeQueue); of these, any the reply did not carry (it
 * was full) go back to the queue, and one too large for the device fails below.
 */
async function storeOperationsSent(tx: Tx, plan: Plan, reply: Reply, now: number): Promise<void> {
  const sent = opIdsOf(reply.sent);
  if (plan.claimed === undefined || plan.claimed.length === 0) return markOperationsSent(tx, sent, now);
  const claimed = new Set(plan.claimed);
  await markOperationsSent(tx, sent.filter((id) => !claimed.has(id)), now);
  const carried = new Set([...sent, ...opIdsOf(reply.tooLarge)]);
  await requeueOperations(tx, plan.claimed.filter((id) => !carried.has(id)));
}

/** How long the longest prompt of these commands may wait for its user (MAXDT), in ms; 0 with none. */
function longestPromptMs(commands: readonly ServerCommand[]): number {
  let longest = 0;
  for (const c of commands) {
    const ms = (c.ui?.options.maxSeconds ?? 0) * 1000;
    if (ms > longest) longest = ms;
  }
  return longest;
}

/** The operations these commands carry out (map and filter: V8's flatMap cost twenty times as much, bench/dm.ts). */
function opIdsOf(commands: ReadonlyArray<{ opId?: string | undefined }>): string[] {
  return commands.map((c) => c.opId).filter((id): id is string => id !== undefined && id !== '');
}
