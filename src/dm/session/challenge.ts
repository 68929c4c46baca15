// The nonces of authentication challenges, derived instead of stored.
//
// A device's current nonce changes only when it authenticates. A challenge (407, or 401
// after a failure) issues a nonce of its own for that session: an HMAC, under a key from
// the master key, of the device, its SessionID, the MsgID being answered and the device's
// current nonce. The device's next message is checked against its current nonce and
// against the one its session was challenged with; nothing is written to issue it. So
// - a flood of unauthenticated messages writes nothing and cannot put the real device
//   one challenge behind (its current nonce and its session's challenge stay as they were);
// - each challenge carries a new nonce (a failure gets one other than the last), and the
//   same message sent again gets the same challenge (a lost reply);
// - a Cred over a challenge nonce stops working once the device authenticates (its
//   current nonce, part of the derivation, changes), so an accepted Cred cannot be replayed.
import { encodeNonce, hmacSha256, hmacSha256Key, type HmacSha256Key, NONCE_LENGTH } from '../../omadm/auth.ts';
import { BoundedMap } from '../../bounded-map.ts';
import type { KeyVault } from '../../signing/vault.ts';

export interface ChallengeSubject {
  deviceId: string;
  sessionId: string;
  /** The device's current nonce (base64), or null before its first authentication. */
  currentNonce: string | null;
}

/**
 * A challenge key made ready once: its bytes as text (kept with each challenge) and its
 * HMAC blocks. A server's comes from its vault (challengeKeyOf), the same on every message.
 */
export interface ChallengeKey {
  readonly text: string;
  readonly hmac: HmacSha256Key;
}

export function challengeKey(key: Uint8Array): ChallengeKey {
  const bytes = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  return { text: bytes.toString('base64'), hmac: hmacSha256Key(bytes) };
}

const CHALLENGE_KEY = 'dm-challenge';

/**
 * A vault's challenge key, derived and made ready once: a vault's master key never
 * changes (another master key is another vault, and gets its own), and the derivation,
 * the copy the vault hands out and its comparison with the last key cost some 0.3% of the
 * server's CPU when done per message. Weakly held: it goes with its vault.
 */
export function challengeKeyOf(vault: KeyVault): ChallengeKey {
  let key = challengeKeys.get(vault);
  if (key === undefined) {
    key = challengeKey(vault.deriveKey(CHALLENGE_KEY));
    challengeKeys.set(vault, key);
  }
  return key;
}
const challengeKeys = new WeakMap<KeyVault, ChallengeKey>();

/** The nonce a reply to message `msgId` of this session challenges with (base64). */
export function challengeNonce(key: ChallengeKey, subject: ChallengeSubject, msgId: number): string {
  // The challenge of a message is derived again to check the next one: kept (bounded-map.ts),
  // under the device and the message (a short key to hash), and used only for the same
  // inputs under the same key's bytes (processes, and tests, may run servers with other keys).
  // Compared field by field: the HMAC's input (JSON) is written only when one is computed.
  const slot = `${msgId} ${subject.deviceId}`;
  const currentNonce = subject.currentNonce ?? '';
  const kept = recentChallenges.use(slot);
  if (kept !== undefined && kept.sessionId === subject.sessionId && kept.currentNonce === currentNonce && kept.key === key.text) return kept.nonce;
  const input = JSON.stringify([subject.deviceId, subject.sessionId, msgId, currentNonce]);
  const nonce = encodeNonce(hmacSha256(key.hmac, input).subarray(0, NONCE_LENGTH));
  recentChallenges.set(slot, { key: key.text, sessionId: subject.sessionId, currentNonce, nonce });
  return nonce;
}

/** Sessions in flight at once, with room: a miss only costs the HMAC. */
const recentChallenges = new BoundedMap<string, { key: string; sessionId: string; currentNonce: string; nonce: string }>(4096);

/**
 * The nonces message `msgId`'s credentials may use: the device's current one, then the
 * challenge of the message before (derived only if the first does not verify).
 */
export function* acceptedNonces(key: ChallengeKey, subject: ChallengeSubject, msgId: number): Generator<string> {
  if (subject.currentNonce) yield subject.currentNonce;
  if (msgId > 1) yield challengeNonce(key, subject, msgId - 1);
}
