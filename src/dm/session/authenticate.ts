// Decides whether a device's message is authenticated, and what the header Status and
// Chal say. Pure: the caller stores what the decision says.
//
// - A message continues an authenticated session by possession: the RespURI token of that
//   session, or fresh credentials. DevId and SessionID alone prove nothing.
// - Digest (syncml:auth-md5) and HMAC check against the nonces the caller accepts (the
//   device's current one, the challenge of its session, or for a lost reply the nonce
//   the original message used). A success issues a new current nonce, so a captured Cred
//   cannot be replayed.
// - A missing Cred gets 407 with a challenge; a wrong one 401, with one more challenge
//   in the first two messages of a session and none after (the client stops).
import { AUTH_BASIC, AUTH_MAC, AUTH_MD5, credentialVerifier, decodeNonce, encodeNonce, hmacVerifier, newNonce } from '../../omadm/auth.ts';
import type { Chal, Cred } from '../../omadm/codec/message.ts';

export type AuthType = 'md5' | 'basic' | 'hmac';

export interface Proof {
  authType: AuthType;
  credentials: { name: string; password: string };
  cred?: Cred;
  hmacHeader?: string;
  body: Uint8Array;
}

export interface AuthInput extends Proof {
  /** The message presented the RespURI token of an open session of this device. */
  provenByToken: boolean;
  /** Nonces (base64) the message's digest or MAC may use, most likely first. */
  nonces: Iterable<string>;
  /** The nonce a challenge in the reply carries (base64); asked for only when the reply challenges. */
  challenge: () => string;
  msgId: number;
}

export type AuthDecision =
  | {
      ok: true;
      /** 212 authenticated for the session; 200 this message (HMAC, or a session continued by its token). */
      status: 200 | 212;
      chal?: Chal;
      /** The device's new current nonce (base64), when the credentials were checked. */
      nextNonce?: string;
      /** The nonce the credentials verified with ('' for basic); undefined when the token alone proved the message. */
      verifiedWith?: string;
    }
  | {
      ok: false;
      /** 407 credentials missing, 401 wrong. */
      status: 401 | 407;
      chal?: Chal;
      /** The message carried credentials and they were wrong (counts towards a lockout). */
      failed: boolean;
    };

export type AuthOk = Extract<AuthDecision, { ok: true }>;

const typeName = { md5: AUTH_MD5, basic: AUTH_BASIC, hmac: AUTH_MAC } as const;

/** Failures in messages after this one get 401 without a new challenge: the client gives up. */
const LAST_CHALLENGED_MSG = 2;

function challenge(authType: AuthType, nonce: string | undefined): Chal {
  return { meta: { type: typeName[authType], format: 'b64', ...(nonce ? { nextNonce: nonce } : {}) } };
}

/** Whether the message carries the credentials its device's auth type uses (an HMAC header, or a Cred). */
export function presentsCredentials(proof: Pick<Proof, 'authType' | 'cred' | 'hmacHeader'>): boolean {
  return proof.authType === 'hmac' ? proof.hmacHeader !== undefined : proof.cred !== undefined;
}

/**
 * The nonce among `nonces` the message's credentials verify with ('' for basic, which
 * uses none); undefined when they do not verify. A digest device may not fall back to
 * basic: that would send its password in the clear.
 */
export function verifiedNonce(proof: Proof, nonces: Iterable<string>): string | undefined {
  const { cred } = proof;
  let verifies: (nonce: string) => boolean;
  // The Cred or header read once for all the nonces (auth.ts), each nonce checked in turn.
  if (proof.authType === 'hmac') {
    const check = hmacVerifier(proof.hmacHeader, proof.credentials, proof.body);
    verifies = (n) => check(decodeNonce(n));
  } else {
    if (!cred) return undefined;
    const expected = typeName[proof.authType];
    const type = cred.meta.type ?? expected;
    // Devices spell it as we do: trimmed and lower-cased only when not.
    if (type !== expected && type.trim().toLowerCase() !== expected) return undefined;
    const check = credentialVerifier({ type, data: cred.data }, proof.credentials);
    if (proof.authType === 'basic') return check(undefined) ? '' : undefined;
    verifies = (n) => check(decodeNonce(n));
  }
  for (const nonce of nonces) if (verifies(nonce)) return nonce;
  return undefined;
}

export function authenticate(input: AuthInput): AuthDecision {
  const nonceOf = (type: AuthType) => (type === 'basic' ? undefined : input.challenge());
  // HMAC covers every message, token or not; digest and basic once per session.
  if (input.provenByToken && input.authType !== 'hmac' && !input.cred) return { ok: true, status: 200 };
  if (!presentsCredentials(input)) {
    return { ok: false, status: 407, chal: challenge(input.authType, nonceOf(input.authType)), failed: false };
  }
  const verifiedWith = verifiedNonce(input, input.nonces);
  if (verifiedWith !== undefined) {
    if (input.authType === 'basic') return { ok: true, status: 212, verifiedWith };
    const next = encodeNonce(newNonce());
    // 212: authenticated for the whole session, the Chal carries the nonce for the next
    // one. HMAC: 200, this message only, and a new nonce for the next message.
    return { ok: true, status: input.authType === 'hmac' ? 200 : 212, chal: challenge(input.authType, next), nextNonce: next, verifiedWith };
  }
  const again = input.msgId <= LAST_CHALLENGED_MSG;
  return { ok: false, status: 401, ...(again ? { chal: challenge(input.authType, nonceOf(input.authType)) } : {}), failed: true };
}
