// node:crypto verification (src/signing/ed25519.ts) agrees with tweetnacl, the signing
// library: on random keys and messages, each verifies what the other signs, and both refuse
// the same corrupted signatures, messages and keys, wrong lengths included.
import { createPrivateKey, sign } from 'node:crypto';
import fc from 'fast-check';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import { verifyDetached } from '../../src/signing/ed25519.ts';

/** DER PKCS#8 for an Ed25519 private key (RFC 8410) up to its 32-byte seed. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** The group order of Ed25519. */
const L = (1n << 252n) + 27742317777372353535851937790883648493n;

/** tweetnacl's verdict, with its throw on a wrong length counted as a refusal. */
function naclVerifies(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return nacl.sign.detached.verify(message, signature, publicKey);
  } catch {
    return false;
  }
}

function nodeSign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return sign(null, message, createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' }));
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  const at = bit % (copy.length * 8);
  copy[at >> 3] = (copy[at >> 3] ?? 0) ^ (1 << (at & 7));
  return copy;
}

const seeds = fc.uint8Array({ minLength: 32, maxLength: 32 });
const messages = fc.uint8Array({ maxLength: 512 });

describe('Ed25519 verification through node:crypto', () => {
  it('verifies every signature tweetnacl makes, and tweetnacl verifies every one node:crypto makes', () => {
    fc.assert(
      fc.property(seeds, messages, (seed, message) => {
        const { publicKey, secretKey } = nacl.sign.keyPair.fromSeed(seed);
        const byNacl = nacl.sign.detached(message, secretKey);
        const byNode = nodeSign(seed, message);
        expect(verifyDetached(message, byNacl, publicKey)).toBe(true);
        expect(naclVerifies(message, byNode, publicKey)).toBe(true);
        // Ed25519 is deterministic: the same seed and message give the same signature.
        expect(Buffer.from(byNode).equals(Buffer.from(byNacl))).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('refuses a corrupted signature, message or key exactly when tweetnacl does', () => {
    const parts = fc.constantFrom('signature', 'message', 'key');
    fc.assert(
      fc.property(seeds, messages, parts, fc.nat(), (seed, message, part, bit) => {
        const { publicKey, secretKey } = nacl.sign.keyPair.fromSeed(seed);
        let signature = nacl.sign.detached(message, secretKey);
        let key = publicKey;
        if (part === 'signature') signature = flipBit(signature, bit);
        if (part === 'key') key = flipBit(key, bit);
        // An empty message has no bit to flip: append one byte instead.
        const sent = part === 'message' ? (message.length > 0 ? flipBit(message, bit) : Uint8Array.of(bit & 0xff)) : message;
        expect(verifyDetached(sent, signature, key)).toBe(naclVerifies(sent, signature, key));
        expect(verifyDetached(sent, signature, key)).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  it('refuses signatures and keys of the wrong length, as a verdict and never a throw', () => {
    fc.assert(
      fc.property(seeds, messages, fc.nat({ max: 100 }), fc.boolean(), (seed, message, length, cutKey) => {
        const { publicKey, secretKey } = nacl.sign.keyPair.fromSeed(seed);
        const signature = nacl.sign.detached(message, secretKey);
        const resize = (bytes: Uint8Array) => Uint8Array.from({ length }, (_, i) => bytes[i % bytes.length] ?? 0);
        const wrongSignature = cutKey ? signature : resize(signature);
        const wrongKey = cutKey ? resize(publicKey) : publicKey;
        fc.pre((cutKey ? publicKey.length : signature.length) !== length);
        expect(verifyDetached(message, wrongSignature, wrongKey)).toBe(false);
        expect(naclVerifies(message, wrongSignature, wrongKey)).toBe(false);
      }),
      { numRuns: 60 },
    );
  });

  it('refuses a key that is not a curve point, like tweetnacl', () => {
    const { secretKey } = nacl.sign.keyPair();
    const message = Buffer.from('firmware');
    const signature = nacl.sign.detached(message, secretKey);
    const notAPoint = new Uint8Array(32).fill(0xff);
    expect(verifyDetached(message, signature, notAPoint)).toBe(false);
    expect(naclVerifies(message, signature, notAPoint)).toBe(false);
  });

  it('refuses a malleated signature (S + L) that tweetnacl accepts', () => {
    const { publicKey, secretKey } = nacl.sign.keyPair();
    const message = Buffer.from('firmware 2.0');
    const signature = nacl.sign.detached(message, secretKey);
    const s = BigInt(`0x${Buffer.from(signature.subarray(32)).reverse().toString('hex')}`);
    const malleated = Buffer.concat([signature.subarray(0, 32), Buffer.from((s + L).toString(16).padStart(64, '0'), 'hex').reverse()]);
    expect(naclVerifies(message, malleated, publicKey)).toBe(true);
    expect(verifyDetached(message, malleated, publicKey)).toBe(false);
  });
});
