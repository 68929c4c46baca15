// One OMA DM message in, one reply out. Everything is worked out in memory first
// (decode, authenticate, read the device's commands, plan and build the reply); then one
// transaction stores the session, the device's inventory, the operations and the audit.
// A message that fails anywhere before that stores nothing.
import { randomBytes } from 'node:crypto';
import type { Context } from '../../context.ts';
import { devicePassword, parseInventory, serverPassword } from '../../devices/devices.ts';
import { AppError } from '../../errors.ts';
import { applyFumo, type FumoPlan, markFumoSent, planFumo } from '../../deployments/fumo.ts';
import { recordAudit } from '../../store/queries/audit.ts';
import { type DeviceRow, type DmSessionRow, findDevice, findOpenSession, findSession, insertSession, queuedOperations, updateDevice, updateOperation, updateSession } from '../../store/queries/devices.ts';
import { AUTH_MD5, decodeNonce, md5Digest } from '../../omadm/auth.ts';
import type { Chal, Cred, SyncMessage } from '../../omadm/codec/message.ts';
import { decodeMessage, encodeMessage } from '../../omadm/codec/syncml.ts';
import { authenticate, presentsCredentials, type Proof, verifiedNonce } from './authenticate.ts';
import { acceptedNonces, challengeNonce } from './challenge.ts';
import type { DmGuard } from './guard.ts';
import { headerProblem } from './limits.ts';
import { lockedUntil, recordAuthFailure } from './lockout.ts';
import { readClientCommands, statusesForAll } from './client-commands.ts';
import { buildReply } from './reply.ts';
import { awaitingSchema, INVENTORY_NODES, pendingSchema, type ServerCommand } from './state.ts';

export interface DmRequest {
  body: Uint8Array;
  contentType: string;
  /** The session token from the RespURI the server handed out, if the device used it. */
  token?: string;
  hmacHeader?: string;
  /** This endpoint's URL as devices reach it (SyncHdr Source, base of RespURI). */
  serverUrl: string;
  /** The client's network address: failed authentications from one address are limited. */
  address: string;
}

export interface DmResponse {
  status: number;
  contentType: string;
  body: Uint8Array;
  headers?: Record<string, string>;
}

const REFUSED_COMMAND = 215; // "not executed": the message as a whole was refused
const CHALLENGE_KEY = 'dm-challenge';

export function handleDmMessage(ctx: Context, guard: DmGuard, request: DmRequest): DmResponse {
  const limits = { maxBytes: ctx.config.dm.maxMessageBytes, maxDepth: 32, maxElements: 20_000 };
  let message: SyncMessage;
  try {
    message = decodeMessage(request.body, request.contentType, limits);
  } catch (err) {
    if (err instanceof AppError) return plain(err.code === 'TOO_LARGE' ? 413 : 400, `cannot read the SyncML message: ${err.message}`);
    throw err;
  }
  const h = message.header;
  const problem = headerProblem(h);
  if (problem) {
    guard.refused('bad-header');
    return plain(400, `SyncHdr refused: ${problem}`);
  }
  const encode = (m: SyncMessage) => encodeMessage(m, request.contentType);
  const respond = (m: SyncMessage, bytes = encode(m)): DmResponse => ({ status: 200, contentType: request.contentType, body: bytes });
  const now = ctx.clock.now();
  const log = ctx.log.child({ devId: h.source, sessionId: h.sessionId, msgId: h.msgId });

  // A reply that refuses the whole message: header Status (with a challenge, for
  // authentication) and the same answer for every command.
  const refuse = (headerStatus: number, commandStatus: number, msgId = h.msgId, chal?: Chal) =>
    respond(
      buildReply({ received: h, headerStatus, ...(chal ? { chal } : {}), statuses: statusesForAll(h, message.commands, commandStatus), commands: [], askForMore: false, msgId, serverUrl: request.serverUrl, ownMaxMsgSize: ctx.config.dm.maxMessageBytes, encode }).message,
    );

  if (h.verDTD !== '1.2') return refuse(505, REFUSED_COMMAND); // DTD version not supported
  if (h.verProto !== 'DM/1.2') return refuse(513, REFUSED_COMMAND); // protocol version not supported

  const device = findDevice(ctx.db, h.source);
  if (!device) {
    // Refused from memory: counted, and summed up in one audit event per sweep.
    guard.unknownDevice(h.source, now);
    log.debug('DM message from an unknown device refused');
    return refuse(403, 403);
  }

  // Possession continues a session: the RespURI token of this device's session. Without
  // it, the session this SessionID names is only a candidate until credentials prove the
  // message is the device's; DevId and SessionID alone reach nothing of it.
  const tokenSession = request.token === undefined ? undefined : findSession(ctx.db, request.token);
  if (request.token !== undefined && (!tokenSession || tokenSession.deviceId !== device.id || tokenSession.sessionId !== h.sessionId)) return refuse(404, REFUSED_COMMAND);
  const candidate = tokenSession ?? findOpenSession(ctx.db, device.id, h.sessionId);
  const live = candidate && candidate.expiresAt >= now ? candidate : undefined;
  const proof: Proof = {
    authType: device.authType,
    credentials: { name: device.authName, password: devicePassword(ctx, device) },
    ...(h.cred ? { cred: h.cred } : {}),
    ...(request.hmacHeader === undefined ? {} : { hmacHeader: request.hmacHeader }),
    body: request.body,
  };

  // The device lost our reply and sends its last message again: the same reply, also when
  // that reply ended the session, to a message that proves itself as the original did.
  if (live && h.msgId === live.clientMsgId && live.lastReply && live.lastReplyType === request.contentType) {
    const proven = live === tokenSession || (live.authNonce !== null && verifiedNonce(proof, [live.authNonce]) !== undefined);
    if (proven) return respond(message, Buffer.from(live.lastReply, 'base64'));
  }
  if (tokenSession && (tokenSession.state === 'ended' || tokenSession.expiresAt < now)) return refuse(408, REFUSED_COMMAND); // that session is over: start a new one
  const byToken = tokenSession !== undefined;

  // Credentials are not even checked while the device or the address is locked.
  if (!byToken && presentsCredentials(proof)) {
    const until = lockedUntil(guard, device, request.address, now);
    if (until !== undefined) {
      guard.refused('locked');
      const seconds = Math.ceil((until - now) / 1000);
      return { ...plain(429, `too many failed authentications: credentials are not checked for ${seconds} s`), headers: { 'retry-after': String(seconds) } };
    }
  }

  const key = ctx.vault.deriveKey(CHALLENGE_KEY);
  const subject = { deviceId: device.id, sessionId: h.sessionId, currentNonce: device.clientNonce };
  const decision = authenticate({ ...proof, provenByToken: byToken, nonces: acceptedNonces(key, subject, h.msgId), challenge: () => challengeNonce(key, subject, h.msgId), msgId: h.msgId });
  if (!decision.ok) {
    // Nothing is stored for a challenge; a wrong credential counts towards a lockout.
    if (decision.failed) recordAuthFailure(ctx, guard, device, { address: request.address, sessionId: h.sessionId }, now, log);
    log.info({ status: decision.status }, 'DM authentication challenge');
    return refuse(decision.status, decision.status, h.msgId, decision.chal);
  }

  // The session the message continues, or a new one.
  let session = live && live.state === 'open' ? live : undefined;
  let replaced: string | undefined;
  if (session && h.msgId !== session.clientMsgId + 1) {
    if (!byToken && h.msgId === 1) {
      // The device started over under the same SessionID: the old session ends here.
      replaced = session.id;
      session = undefined;
    } else {
      log.warn({ expected: session.clientMsgId + 1 }, 'DM message out of order refused');
      return refuse(400, REFUSED_COMMAND, session.serverMsgId + 1);
    }
  }
  const current: DmSessionRow = session ?? newSession(device, h.sessionId, h.msgId - 1, now);
  const isNew = session === undefined;
  const msgId = current.serverMsgId + 1;
  const respUri = `${request.serverUrl}?s=${current.id}`;

  // What the device said, and what the server sends next.
  const effects = readClientCommands(h, message.commands, awaitingSchema.parse(JSON.parse(current.awaiting)));
  if (effects.strayStatuses) log.warn({ count: effects.strayStatuses }, 'Status or Results for commands the server never sent, ignored');
  const askForMore = !message.final && !effects.aborted;
  const planned: ServerCommand[] = [];
  let inventoryChecked = current.inventoryChecked;
  if (message.final && !effects.aborted) {
    planned.push(...pendingSchema.parse(JSON.parse(current.pending)));
    if (!inventoryChecked) {
      planned.push(...staleInventory(device, effects.inventory, now, ctx.config.dm.inventoryMaxAgeMs));
      inventoryChecked = true;
    }
    for (const op of queuedOperations(ctx.db, device.id)) {
      planned.push({ kind: op.command, uri: op.uri, ...(op.data === null ? {} : { data: op.data }), ...(op.format ? { format: op.format } : {}), ...(op.type ? { type: op.type } : {}), ...(op.correlator ? { correlator: op.correlator } : {}), opId: op.id, purpose: 'operation' });
    }
    // A firmware update the device reported as done is confirmed by reading its FwV now.
    const installed = effects.genericAlerts.some((a) => /firmwareupdate\.(downloadand)?update$/i.test(a.type) && a.data.trim().startsWith('2'));
    if (installed && effects.inventory['./DevDetail/FwV'] === undefined && !planned.some((c) => c.uri === './DevDetail/FwV')) {
      planned.push({ kind: 'Get', uri: './DevDetail/FwV', purpose: 'inventory' });
    }
    // Not again for a deployment whose commands are out, or whose Exec this very message answers.
    const inFlight = new Set([...effects.awaiting, ...planned, ...effects.fumoExecStatuses].flatMap((c) => (c.deploymentId ? [c.deploymentId] : [])));
    const fumo = planFumo(ctx, device.id, request.serverUrl, now);
    if (fumo && !inFlight.has(fumo.deploymentId)) planned.push(...fumoCommands(fumo));
  }
  const serverAuthenticated = current.serverAuthenticated || effects.serverAuthStatus === 212;
  const serverNonce = effects.serverNonce ?? device.serverNonce;
  const reply = buildReply({
    received: h,
    headerStatus: decision.status,
    ...(decision.chal ? { chal: decision.chal } : {}),
    statuses: effects.statuses,
    commands: askForMore ? [] : planned,
    askForMore,
    msgId,
    serverUrl: request.serverUrl,
    respUri,
    ...serverCred(ctx, device, serverAuthenticated, serverNonce),
    ...(h.meta?.maxMsgSize ? { maxMsgSize: h.meta.maxMsgSize } : current.maxMsgSize ? { maxMsgSize: current.maxMsgSize } : {}),
    ownMaxMsgSize: ctx.config.dm.maxMessageBytes,
    encode,
  });
  const ended = effects.aborted || (message.final && reply.sent.length === 0 && reply.leftover.length === 0);
  const awaiting = [...effects.awaiting, ...reply.sent];

  const campaignsMoved = ctx.db.transaction((tx) => {
    const inventory = parseInventory(device);
    for (const [uri, value] of Object.entries(effects.inventory)) inventory[uri] = { value, at: now };
    updateDevice(tx, device.id, {
      lastSeen: now,
      ...(decision.nextNonce ? { clientNonce: decision.nextNonce } : {}),
      authFailures: 0,
      authLockedUntil: null,
      inventory: JSON.stringify(inventory),
      ...(effects.inventory['./DevInfo/Man'] ? { manufacturer: effects.inventory['./DevInfo/Man'] } : {}),
      ...(effects.inventory['./DevDetail/FwV'] ? { firmwareVersion: effects.inventory['./DevDetail/FwV'] } : {}),
      ...(serverNonce ? { serverNonce } : {}),
    });
    if (replaced) updateSession(tx, replaced, { state: 'ended', updatedAt: now });
    saveSession(tx, current, isNew, {
      state: ended ? 'ended' : 'open',
      authNonce: decision.verifiedWith ?? null,
      serverAuthenticated,
      inventoryChecked,
      clientMsgId: h.msgId,
      serverMsgId: msgId,
      awaiting: JSON.stringify(awaiting),
      // Operations that did not fit stay queued (the next message reads them again), so an
      // interrupted package leaves them for the next session instead of 'sent' and lost.
      pending: JSON.stringify(reply.leftover.filter((c) => c.opId === undefined)),
      lastReply: Buffer.from(reply.bytes).toString('base64'),
      lastReplyType: request.contentType,
      ...(h.meta?.maxMsgSize ? { maxMsgSize: h.meta.maxMsgSize } : {}),
      updatedAt: now,
      expiresAt: now + ctx.config.dm.sessionIdleMs,
    });
    for (const c of reply.sent) if (c.opId) updateOperation(tx, c.opId, { state: 'sent', sentAt: now });
    for (const c of reply.sent) if (c.deploymentId && c.kind === 'Exec') markFumoSent(tx, c.deploymentId, now);
    for (const c of reply.tooLarge) {
      if (c.opId) updateOperation(tx, c.opId, { state: 'failed', statusCode: 413, doneAt: now });
      log.warn({ uri: c.uri, opId: c.opId }, 'command larger than the device accepts (MaxMsgSize); not sent');
    }
    const moved = applyFumo(
      tx,
      device.id,
      { execStatuses: effects.fumoExecStatuses, alerts: effects.genericAlerts, ...(effects.inventory['./DevDetail/FwV'] === undefined ? {} : { firmwareVersion: effects.inventory['./DevDetail/FwV'] }) },
      now,
      log,
      { retryBackoffMs: ctx.config.campaigns.retryBackoffMs },
    );
    for (const update of effects.operations) {
      updateOperation(tx, update.opId, {
        state: update.state,
        ...(update.statusCode === undefined ? {} : { statusCode: update.statusCode }),
        ...(update.result ? { result: JSON.stringify(update.result) } : {}),
        ...(update.state === 'sent' ? {} : { doneAt: now }),
      });
    }
    for (const alert of effects.genericAlerts) recordAudit(tx, { actor: 'dm', action: 'dm.generic-alert', subject: device.id, details: { ...alert } }, now);
    return moved;
  });
  // Campaigns react to every result: the next stage may start, or the campaign pause.
  for (const campaignId of campaignsMoved) ctx.signals.emit({ kind: 'campaign-moved', campaignId });
  ctx.signals.emit({ kind: 'device-seen', deviceId: device.id });
  log.info({ commands: reply.sent.length, pending: reply.leftover.length, ended }, 'DM message answered');
  return respond(reply.message, reply.bytes);
}

/** Error texts quote what the client sent; a hostile message does not get all of it back. */
const MAX_PLAIN_TEXT = 500;

function plain(status: number, text: string): DmResponse {
  const shown = text.length > MAX_PLAIN_TEXT ? `${text.slice(0, MAX_PLAIN_TEXT)}...` : text;
  return { status, contentType: 'text/plain; charset=utf-8', body: new TextEncoder().encode(`${shown}\n`) };
}

/** A session starts once its device authenticated; its token is 144 random bits. */
function newSession(device: DeviceRow, sessionId: string, clientMsgId: number, now: number): DmSessionRow {
  return {
    id: `dms_${randomBytes(18).toString('base64url')}`,
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
    authNonce: null,
    serverAuthenticated: false,
    inventoryChecked: false,
    createdAt: now,
    updatedAt: now,
    expiresAt: now,
  };
}

function saveSession(tx: Parameters<typeof insertSession>[0], current: DmSessionRow, isNew: boolean, changes: Partial<DmSessionRow>): void {
  if (isNew) insertSession(tx, { ...current, ...changes });
  else updateSession(tx, current.id, changes);
}

/** Gets for DevDetail values the server has not seen recently (nor in this very message). */
function staleInventory(device: DeviceRow, reported: Record<string, string>, now: number, maxAgeMs: number): ServerCommand[] {
  const known = parseInventory(device);
  return INVENTORY_NODES.filter((uri) => reported[uri] === undefined && !(known[uri] && now - known[uri].at <= maxAgeMs)).map((uri) => ({ kind: 'Get' as const, uri, purpose: 'inventory' as const }));
}

/** FUMO in DM terms: set PkgURL (a chr leaf), then Exec the operation node with a Correlator. */
function fumoCommands(plan: FumoPlan): ServerCommand[] {
  const base = { deploymentId: plan.deploymentId, purpose: 'fumo' as const };
  const exec: ServerCommand = { kind: 'Exec', uri: plan.execUri, correlator: plan.correlator, ...base };
  return plan.pkgUrl ? [{ kind: 'Replace', uri: `${plan.execUri}/PkgURL`, data: plan.pkgUrl, format: 'chr', ...base }, exec] : [exec];
}

/** The server's own Cred, sent until the device accepts it, when its account expects one. */
function serverCred(ctx: Context, device: DeviceRow, accepted: boolean, serverNonce: string | null): { cred?: Cred } {
  const password = accepted ? undefined : serverPassword(ctx, device);
  if (!password) return {};
  const nonce = serverNonce ? decodeNonce(serverNonce) : new Uint8Array(0);
  return { cred: { meta: { type: AUTH_MD5, format: 'b64' }, data: md5Digest(ctx.config.dm.serverId, password, nonce) } };
}
