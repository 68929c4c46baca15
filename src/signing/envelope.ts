// Signed envelopes `{signed, signatures: [{keyid, sig}]}`: Ed25519 over the RFC 8785 bytes
// of `signed`. Verification counts distinct trusted, unrevoked keys whose signature holds;
// a signature's claimed keyid is only a lookup hint, never trusted on its own. Signing is
// tweetnacl; verification is node:crypto (ed25519.ts), the hot path.
import nacl from 'tweetnacl';
import { z } from 'zod';
import { canonicalBytes } from './canonical-json.ts';
import { verifyDetached } from './ed25519.ts';
import { keyIdOf, type PublicKey, type SigningKey } from './keys.ts';
import type { RootEnvelope } from './root-schema.ts';

export const signatureSchema = z.object({
  keyid: z.string().regex(/^[0-9a-f]{64}$/),
  sig: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'must be a base64 Ed25519 signature'),
});

export const envelopeSchema = z.object({
  signed: z.record(z.string(), z.unknown()),
  signatures: z.array(signatureSchema).max(64),
});

export interface Envelope<T> {
  signed: T;
  signatures: Array<z.infer<typeof signatureSchema>>;
}

export function signEnvelope<T>(signed: T, keys: SigningKey[]): Envelope<T> {
  const bytes = canonicalBytes(signed);
  return {
    signed,
    signatures: keys.map((key) => ({
      keyid: key.keyid,
      sig: Buffer.from(nacl.sign.detached(bytes, key.secretKey)).toString('base64'),
    })),
  };
}

export interface TrustedKey extends PublicKey {
  revoked?: boolean;
}

export interface TrustPolicy {
  keys: TrustedKey[];
  /** How many distinct trusted keys must have signed; at least 1. */
  threshold?: number;
  /**
   * A device's second requirement: the manufacturer's root of offline keys it pins (or
   * the newest it has followed). With it, a package needs a target statement those keys
   * signed besides the delivery signature above (packages/offline-check.ts).
   */
  offline?: { root: RootEnvelope; now?: () => number };
}

export type EnvelopeVerdict =
  | { ok: true; keyids: string[] }
  | { ok: false; keyids: string[]; reason: string };

export function verifyEnvelope(envelope: Envelope<unknown>, policy: TrustPolicy): EnvelopeVerdict {
  const threshold = Math.max(1, policy.threshold ?? 1);
  const trusted = new Map<string, TrustedKey>();
  // Index by the keyid we compute ourselves, so a key listed under a wrong id counts for nothing.
  for (const key of policy.keys) if (!key.revoked) trusted.set(keyIdOf(key.publicKey), key);
  let bytes: Uint8Array;
  try {
    bytes = canonicalBytes(envelope.signed);
  } catch (err) {
    return { ok: false, keyids: [], reason: `signed part cannot be canonicalized: ${(err as Error).message}` };
  }
  const valid = new Set<string>();
  for (const { keyid, sig } of envelope.signatures) {
    const key = trusted.get(keyid);
    if (!key || valid.has(keyid)) continue;
    const sigBytes = Buffer.from(sig, 'base64');
    if (verifyDetached(bytes, sigBytes, key.publicKey)) {
      valid.add(keyid);
    }
  }
  const keyids = [...valid];
  if (keyids.length >= threshold) return { ok: true, keyids };
  return {
    ok: false,
    keyids,
    reason: `${keyids.length} valid signature(s) from trusted keys, ${threshold} required`,
  };
}
