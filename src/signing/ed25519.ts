// Ed25519 signature verification through node:crypto (OpenSSL), for the hot paths: every
// package a server checks and every package a device verifies. tweetnacl stays the signing
// library (keys.ts, envelope.ts); its verify is pure JavaScript, some 40 times slower.
// Same 32-byte raw public keys and 64-byte signatures; test/signing/ed25519.test.ts checks
// both agree. Where they differ OpenSSL is the stricter: it refuses a signature whose S is
// not reduced (S + L, a malleated copy of a valid one) that tweetnacl accepts.
import { createPublicKey, type KeyObject, verify } from 'node:crypto';

const PUBLIC_KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;
/** DER SubjectPublicKeyInfo for Ed25519 (RFC 8410) up to the raw key, which follows. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * Whether `signature` is `publicKey`'s Ed25519 signature of `message`. Anything malformed
 * (wrong lengths, a key OpenSSL will not load) is "not verified", never an exception.
 */
export function verifyDetached(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== PUBLIC_KEY_BYTES) return false;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}
