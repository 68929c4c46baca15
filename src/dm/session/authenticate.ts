// Decides whether a device's message is authenticated, and what the header Status and
// Chal say. Digest (syncml:auth-md5) checks the Cred against the nonce the server issued
// last; a success issues a new nonce (so a captured Cred cannot be replayed), a failure
// gets one more challenge with a new nonce, then a plain refusal.
import { AUTH_BASIC, AUTH_MAC, AUTH_MD5, decodeNonce, encodeNonce, newNonce, verifyCredential, verifyHmac } from '../auth.ts';
import type { Chal, Cred } from '../codec/message.ts';

export interface AuthInput {
  authType: 'md5' | 'basic' | 'hmac';
  credentials: { name: string; password: string };
  /** The nonce the server issued to the device last (base64), if any. */
  clientNonce: string | null;
  authFailures: number;
  cred?: Cred;
  hmacHeader?: string;
  body: Uint8Array;
  /** True when the session already authenticated (digest/basic: later messages need no Cred). */
  sessionAuthenticated: boolean;
}

export interface AuthDecision {
  ok: boolean;
  /** Header Status code: 212 authenticated, 200 ok for this message, 401 bad, 407 missing. */
  status: 200 | 212 | 401 | 407;
  chal?: Chal;
  /** What to store on the device row. */
  clientNonce: string | null;
  authFailures: number;
}

const typeName = { md5: AUTH_MD5, basic: AUTH_BASIC, hmac: AUTH_MAC } as const;

function challenge(authType: AuthInput['authType'], nonce: string | undefined): Chal {
  return { meta: { type: typeName[authType], format: 'b64', ...(nonce ? { nextNonce: nonce } : {}) } };
}

export function authenticate(input: AuthInput): AuthDecision {
  const nonce = input.clientNonce ? decodeNonce(input.clientNonce) : undefined;
  const fresh = () => encodeNonce(newNonce());

  if (input.authType === 'hmac') {
    // HMAC covers every message; a new nonce goes out each time.
    const next = fresh();
    if (input.hmacHeader === undefined) return { ok: false, status: 407, chal: challenge('hmac', next), clientNonce: next, authFailures: input.authFailures };
    if (verifyHmac(input.hmacHeader, input.credentials, nonce, input.body)) return { ok: true, status: 200, chal: challenge('hmac', next), clientNonce: next, authFailures: 0 };
    return refuse(input, next);
  }

  if (input.sessionAuthenticated && !input.cred) return { ok: true, status: 200, clientNonce: input.clientNonce, authFailures: 0 };
  if (!input.cred) {
    const next = input.authType === 'md5' ? fresh() : input.clientNonce ?? undefined;
    return { ok: false, status: 407, chal: challenge(input.authType, next), clientNonce: next ?? null, authFailures: input.authFailures };
  }
  const type = input.cred.meta.type ?? (input.authType === 'md5' ? AUTH_MD5 : AUTH_BASIC);
  // A device set up for digest may not fall back to basic: that would send its password in the clear.
  const accepted = type.toLowerCase() === typeName[input.authType] && verifyCredential({ type, data: input.cred.data }, input.credentials, nonce);
  if (accepted) {
    // 212: authenticated for the whole session; the Chal carries the nonce for the next one.
    const next = input.authType === 'md5' ? fresh() : undefined;
    return { ok: true, status: 212, ...(next ? { chal: challenge('md5', next) } : {}), clientNonce: next ?? input.clientNonce, authFailures: 0 };
  }
  return refuse(input, input.authType === 'md5' ? fresh() : undefined);
}

/** First failure: 401 with a new challenge. Second in a row: 401 alone, the client stops. */
function refuse(input: AuthInput, next: string | undefined): AuthDecision {
  const failures = input.authFailures + 1;
  if (failures >= 2) return { ok: false, status: 401, clientNonce: next ?? input.clientNonce, authFailures: failures };
  return { ok: false, status: 401, chal: challenge(input.authType, next), clientNonce: next ?? input.clientNonce, authFailures: failures };
}
