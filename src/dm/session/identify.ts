// Phase 2 of a DM message: which device sends it, which session it continues, and whether
// the message proves it is the device's. Possession continues a session: the RespURI
// token of that session, or fresh credentials; DevId and SessionID alone reach nothing of
// it (not its commands, not its stored reply). Reads the device and session rows; writes
// only a failed authentication's count (lockout.ts), never anything for a challenge.
import type { Logger } from 'pino';
import type { Context } from '../../context.ts';
import { pendingAccountOf } from '../../enroll/pending-credentials.ts';
import { type AuthSubject, type DeviceRow, type DmSessionRow, findAuthSubject, findDevice, findDeviceAndSession, type NamedDevice } from '../../store/queries/devices.ts';
import { type AuthDecision, type AuthOk, authenticate, presentsCredentials, type Proof, verifiedNonce } from './authenticate.ts';
import { acceptedNonces, challengeKeyOf, challengeNonce } from './challenge.ts';
import { type Answer, plain, type Received, REFUSED_COMMAND, refusal, syncml } from './exchange.ts';
import type { DmGuard } from './guard.ts';
import { sessionPassword } from './password.ts';
import { replyFromRest } from './secrets-at-rest.ts';
import { lockedUntil, recordAuthFailure } from './lockout.ts';

export interface Identified {
  device: DeviceRow;
  /** The open session this message continues; undefined when it starts one. */
  session?: DmSessionRow;
  /** An open session under the same SessionID that this message ends (the device started over). */
  replaces?: string;
  decision: AuthOk;
  /** The message authenticated with the credentials of a rotation still unconfirmed (first contact commits them). */
  pendingCredentials?: true;
  /** The device's enrollment as read with the device (null: none), for first contact; absent when not read. */
  enrollment?: NamedDevice['enrollment'];
  /** Which of the device's optional parts exist, as read with the device, for the plan; absent when not read. */
  footing?: NamedDevice['footing'];
}

export async function identify(ctx: Context, guard: DmGuard, received: Received, now: number, log: Logger): Promise<Identified | Answer> {
  const { message, request } = received;
  const h = message.header;
  const withEnrollment = h.cred !== undefined || request.hmacHeader !== undefined;
  const unknown = () => {
    // Refused from memory: counted, and summed up in one audit event per sweep.
    guard.unknownDevice(h.source, now);
    log.debug('DM message from an unknown device refused');
    return refusal(received, 403, 403);
  };
  // A message with neither the RespURI token nor credentials is answered with a challenge
  // whatever session it names (below: no resend without proof, no session continued
  // without it), so it reads of its device only what the challenge takes: every digest
  // session's first message, one join, a session row (19 columns) and 15 of the device's
  // columns less (bench/dm.ts). Decided as below, by authenticate, from the same inputs;
  // should that ever not be a plain challenge, the message goes the whole way below.
  if (!withEnrollment && request.token === undefined) {
    const subject = await findAuthSubject(ctx.db, h.source);
    if (!subject) return unknown();
    const proof: Proof = { authType: subject.authType, credentials: { name: subject.authName, password: '' }, cred: h.cred, hmacHeader: request.hmacHeader, body: request.body };
    const decision = attempts(ctx, h, subject, proof, false)(proof.credentials);
    if (!decision.ok && !decision.failed) return refused(received, decision, log);
  }
  // The device and the session the message names, in one read (store/queries/devices.ts);
  // with the device's enrollment (first contact) when the message will likely authenticate
  // (a challenge needs none).
  const named = withEnrollment || request.token !== undefined ? await findDeviceAndSession(ctx.db, h.source, request.token === undefined ? { sessionId: h.sessionId } : { token: request.token }, { withEnrollment }) : await deviceAlone(ctx, h.source);
  if (!named) return unknown();
  let device = named.device;

  const tokenSession = request.token === undefined ? undefined : named.session;
  if (request.token !== undefined && (!tokenSession || tokenSession.deviceId !== device.id || tokenSession.sessionId !== h.sessionId)) return refusal(received, 404, REFUSED_COMMAND);
  // Without the token, the session this SessionID names (the device's open one) is only a candidate.
  const candidate = tokenSession ?? named.session;
  const live = candidate && candidate.expiresAt >= now ? candidate : undefined;
  // Every field written, absent ones as undefined: one shape for every message, which the
  // object built from it per attempt below copies field by field (a spread of an object
  // of varying shape took the slow path of V8's object cloning, bench/dm.ts).
  const proof: Proof = {
    authType: device.authType,
    credentials: { name: device.authName, password: '' },
    cred: h.cred,
    hmacHeader: request.hmacHeader,
    body: request.body,
  };
  // The password only for a message that presents credentials, the one thing it is
  // checked against: a challenged first message and one continued by its token check none
  // (authenticate.ts), and two of a digest session's three messages looked it up for nothing.
  const presented = presentsCredentials(proof);
  if (presented) proof.credentials.password = sessionPassword(ctx, device);

  // The device lost our reply and sends its last message again: the same reply, also when
  // that reply ended the session, to a message that proves itself as the original did.
  if (live && h.msgId === live.clientMsgId && live.lastReply && live.lastReplyType === request.contentType) {
    const proven = live === tokenSession || (live.authNonce !== null && verifiedNonce(proof, [live.authNonce]) !== undefined);
    if (proven) return syncml(received, replyFromRest(ctx.vault, live.lastReply));
  }
  if (tokenSession && (tokenSession.state === 'ended' || tokenSession.expiresAt < now)) return refusal(received, 408, REFUSED_COMMAND); // that session is over: start a new one
  const byToken = tokenSession !== undefined;

  // Credentials are not even checked while the device or the address is locked.
  if (!byToken && presented) {
    const until = lockedUntil(guard, device, request.address, now);
    if (until !== undefined) {
      guard.refused('locked');
      const seconds = Math.ceil((until - now) / 1000);
      return plain(429, `too many failed authentications: credentials are not checked for ${seconds} s`, { 'retry-after': String(seconds) });
    }
  }

  const attempt = attempts(ctx, h, device, proof, byToken);
  let decision = attempt(proof.credentials);
  // A rotation whose Status was lost: the device may hold the pending credentials (enroll/pending-credentials.ts).
  const pending = !decision.ok && decision.failed ? await pendingAccountOf(ctx, device, named.enrollment) : undefined;
  const retried = pending ? attempt(pending.credentials) : undefined;
  if (pending && retried?.ok) {
    decision = retried;
    device = pending.device;
  }
  if (!decision.ok) {
    // Nothing is stored for a challenge; a wrong credential counts towards a lockout.
    if (decision.failed) await recordAuthFailure(ctx, guard, device, { address: request.address, sessionId: h.sessionId }, now, log);
    return refused(received, decision, log);
  }

  const session = live && live.state === 'open' ? live : undefined;
  if (session && h.msgId !== session.clientMsgId + 1) {
    // The device started over under the same SessionID: the old session ends here.
    if (!byToken && h.msgId === 1) return identified({ device, replaces: session.id, decision }, retried?.ok === true, named);
    log.warn({ expected: session.clientMsgId + 1 }, 'DM message out of order refused');
    return refusal(received, 400, REFUSED_COMMAND, { msgId: session.serverMsgId + 1 });
  }
  const result: Identified = { device, decision };
  if (session) result.session = session;
  return identified(result, retried?.ok === true, named);
}

/**
 * What identify found, with what else it learnt set in place: conditional spreads in the
 * literal cost ten times as much on Node 20's V8 (persist.ts).
 */
function identified(result: Identified, withPendingCredentials: boolean, named: NamedDevice): Identified {
  if (withPendingCredentials) result.pendingCredentials = true;
  if (named.enrollment !== undefined) result.enrollment = named.enrollment;
  if (named.footing !== undefined) result.footing = named.footing;
  return result;
}

/**
 * Authenticates the message's credentials as `device`'s (authenticate.ts), against the
 * nonces it accepts and with the challenge its reply would carry (challenge.ts).
 */
function attempts(ctx: Context, h: Received['message']['header'], device: AuthSubject, proof: Proof, byToken: boolean): (credentials: Proof['credentials']) => AuthDecision {
  const key = challengeKeyOf(ctx.vault);
  const subject = { deviceId: device.id, sessionId: h.sessionId, currentNonce: device.clientNonce };
  const challenge = () => challengeNonce(key, subject, h.msgId);
  return (credentials) =>
    authenticate({ authType: proof.authType, credentials, cred: proof.cred, hmacHeader: proof.hmacHeader, body: proof.body, provenByToken: byToken, nonces: acceptedNonces(key, subject, h.msgId), challenge, msgId: h.msgId });
}

/** A message that did not authenticate: challenged again (407), or refused (401). */
function refused(received: Received, decision: Extract<AuthDecision, { ok: false }>, log: Logger): Answer {
  // A 407 is how every digest session begins (routine: debug); wrong credentials are not.
  log[decision.failed ? 'info' : 'debug']({ status: decision.status }, 'DM authentication challenge');
  return refusal(received, decision.status, decision.status, decision.chal ? { chal: decision.chal } : {});
}

/** The device without a session, as findDeviceAndSession names it. */
async function deviceAlone(ctx: Context, deviceId: string): Promise<NamedDevice | undefined> {
  const device = await findDevice(ctx.db, deviceId);
  return device === undefined ? undefined : { device, session: undefined };
}
