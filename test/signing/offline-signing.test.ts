// Target statements and roots of offline keys: k of n, revocation, expiry, rotations,
// and what their parsers do with malformed, oversized and hostile input.
import { describe, expect, it } from 'vitest';
import { signEnvelope } from '../../src/signing/envelope.ts';
import { generateKey, type SigningKey } from '../../src/signing/keys.ts';
import { followRotations, parseRoot, type RootEnvelope, signRoot, verifyInitialRoot, verifyRotation } from '../../src/signing/offline-root.ts';
import { MAX_SIGNED_DOCUMENT_BYTES } from '../../src/signing/signed-document.ts';
import { parseTargetStatement, signTargetStatement, verifyTargetStatement } from '../../src/signing/target-statement.ts';

const [a, b, c, d] = [generateKey(), generateKey(), generateKey(), generateKey()] as [SigningKey, SigningKey, SigningKey, SigningKey];
const NOW = Date.parse('2026-12-05T12:00:00Z');
const rootKey = (k: SigningKey) => ({ keyid: k.keyid, publicKey: Buffer.from(k.publicKey).toString('base64') });

function root(version: number, keys: SigningKey[], threshold: number, signers: SigningKey[]): RootEnvelope {
  return signRoot({ manufacturer: 'acme', version, threshold, keys: keys.map(rootKey) }, signers);
}

function statement(signers: SigningKey[], overrides: { expires?: string; manufacturer?: string } = {}) {
  return signTargetStatement(
    { manufacturer: 'acme', model: 'router-x', version: '2.0', sha256: 'ab'.repeat(32), size: 1000, securityVersion: 3, hardware: ['rev-b'], expires: '2027-12-05T00:00:00.000Z', ...overrides },
    signers,
  );
}

describe('target statements', () => {
  const twoOfThree = root(1, [a, b, c], 2, [a, b]).signed;

  it('accepts k of n offline signatures and refuses fewer', () => {
    expect(verifyTargetStatement(statement([a, c]), { root: twoOfThree, now: NOW })).toMatchObject({ ok: true });
    const one = verifyTargetStatement(statement([a]), { root: twoOfThree, now: NOW });
    expect(one).toMatchObject({ ok: false });
    expect(!one.ok && one.reason).toMatch(/1 valid signature\(s\) from trusted keys, 2 required/);
  });

  it('does not count a key outside the root, nor the same key twice', () => {
    expect(verifyTargetStatement(statement([a, d]), { root: twoOfThree, now: NOW }).ok).toBe(false);
    const once = statement([a]);
    expect(verifyTargetStatement({ ...once, signatures: [...once.signatures, ...once.signatures] }, { root: twoOfThree, now: NOW }).ok).toBe(false);
  });

  it('does not count a revoked key', () => {
    expect(verifyTargetStatement(statement([a, b]), { root: twoOfThree, revoked: new Set([b.keyid]), now: NOW }).ok).toBe(false);
    expect(verifyTargetStatement(statement([a, b, c]), { root: twoOfThree, revoked: new Set([b.keyid]), now: NOW }).ok).toBe(true);
  });

  it('refuses an expired statement (freeze attack) and accepts it before expiry', () => {
    const s = statement([a, b], { expires: '2026-12-05T12:00:00.000Z' });
    expect(verifyTargetStatement(s, { root: twoOfThree, now: NOW - 1 }).ok).toBe(true);
    const late = verifyTargetStatement(s, { root: twoOfThree, now: NOW });
    expect(!late.ok && late.reason).toMatch(/expired at 2026-12-05T12:00:00.000Z/);
  });

  it('refuses a statement for another manufacturer, and any changed field', () => {
    expect(verifyTargetStatement(statement([a, b], { manufacturer: 'globex' }), { root: twoOfThree, now: NOW }).ok).toBe(false);
    const s = statement([a, b]);
    for (const change of [{ sha256: 'cd'.repeat(32) }, { size: 1001 }, { version: '2.1' }, { securityVersion: 4 }, { hardware: [] }, { expires: '2099-01-01T00:00:00.000Z' }]) {
      expect(verifyTargetStatement({ ...s, signed: { ...s.signed, ...change } }, { root: twoOfThree, now: NOW }).ok).toBe(false);
    }
  });

  it('round-trips through its parser', () => {
    const s = statement([a, b]);
    expect(parseTargetStatement(JSON.stringify(s))).toEqual(s);
    expect(parseTargetStatement(Buffer.from(JSON.stringify(s)))).toEqual(s);
  });

  it.each([
    ['not JSON', '{"signed":', /not JSON/],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), /not valid UTF-8/],
    ['an array', '[]', /statement/],
    ['no signatures field', JSON.stringify({ signed: {} }), /signatures/],
    ['a package manifest', JSON.stringify({ signed: { type: 'fota.package' }, signatures: [] }), /type/],
    ['a short hash', JSON.stringify({ ...statementJson(), signed: { ...statementJson().signed, sha256: 'ab' } }), /sha256 must be a hex SHA-256/],
    ['a negative size', JSON.stringify({ ...statementJson(), signed: { ...statementJson().signed, size: -1 } }), /size/],
    ['an unknown field', JSON.stringify({ ...statementJson(), signed: { ...statementJson().signed, extra: 1 } }), /extra|Unrecognized/i],
    ['a bad expiry', JSON.stringify({ ...statementJson(), signed: { ...statementJson().signed, expires: 'tomorrow' } }), /expires/],
    ['a malformed signature', JSON.stringify({ ...statementJson(), signatures: [{ keyid: a.keyid, sig: 'x' }] }), /sig/],
    ['too many signatures', JSON.stringify({ ...statementJson(), signatures: Array(65).fill(statementJson().signatures[0]) }), /signatures/],
    ['__proto__ keys', `{"__proto__":{"admin":true},"signed":${JSON.stringify(statementJson().signed)},"signatures":[]}`, null],
  ] as const)('refuses %s with a message', (_name, input, message) => {
    if (message === null) {
      // A __proto__ key is data, never a prototype: the parse succeeds and pollutes nothing.
      expect(parseTargetStatement(input).signatures).toEqual([]);
      expect(({} as Record<string, unknown>).admin).toBeUndefined();
      return;
    }
    expect(() => parseTargetStatement(input)).toThrow(message);
  });

  it('refuses an oversized document before parsing it', () => {
    const huge = JSON.stringify({ ...statementJson(), padding: 'x'.repeat(MAX_SIGNED_DOCUMENT_BYTES) });
    expect(() => parseTargetStatement(huge)).toThrow(/bytes; the limit is/);
  });

  it('refuses deeply nested JSON without a stack overflow', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(() => parseTargetStatement(deep)).toThrow(/limit|statement/);
  });
});

function statementJson() {
  return JSON.parse(JSON.stringify(statement([a]))) as { signed: Record<string, unknown>; signatures: Array<{ keyid: string; sig: string }> };
}

describe('roots of offline keys and rotation', () => {
  const v1 = root(1, [a, b, c], 2, [a, b]);

  it('accepts a first root signed by k of its own keys, and refuses fewer', () => {
    expect(verifyInitialRoot(v1).ok).toBe(true);
    expect(verifyInitialRoot(root(1, [a, b, c], 2, [a])).ok).toBe(false);
    expect(verifyInitialRoot(root(2, [a], 1, [a])).ok).toBe(false);
  });

  it('follows a rotation signed by the old threshold and the new keys', () => {
    const v2 = root(2, [a, d], 2, [a, b, d]);
    const followed = followRotations(v1, [v2]);
    expect(followed.ok && followed.root.signed.version).toBe(2);
    // After the rotation, b and c are revoked: their statements no longer count.
    if (!followed.ok) throw new Error(followed.reason);
    expect(verifyTargetStatement(statement([b, c]), { root: followed.root.signed, now: NOW }).ok).toBe(false);
    expect(verifyTargetStatement(statement([a, d]), { root: followed.root.signed, now: NOW }).ok).toBe(true);
  });

  it('refuses a rotation the old threshold did not sign (a server cannot forge one)', () => {
    const forged = root(2, [d], 1, [a, d]); // only one of the old 2-of-3
    const verdict = verifyRotation(v1.signed, forged);
    expect(!verdict.ok && verdict.reason).toMatch(/not signed by the keys of version 1/);
    expect(followRotations(v1, [forged]).ok).toBe(false);
  });

  it('refuses a rotation its own new keys did not sign', () => {
    expect(verifyRotation(v1.signed, root(2, [d], 1, [a, b])).ok).toBe(false);
  });

  it('refuses a chain with a gap, and skips versions already followed', () => {
    const v2 = root(2, [a, b, c], 2, [a, b]);
    const v3 = root(3, [a, b], 2, [a, b]);
    expect(followRotations(v1, [v3]).ok).toBe(false);
    const chained = followRotations(v1, [v3, v2, v1]);
    expect(chained.ok && chained.root.signed.version).toBe(3);
    const already = followRotations(v3, [v1, v2]);
    expect(already.ok && already.root.signed.version).toBe(3);
  });

  it('refuses a rotation for another manufacturer', () => {
    const other = signRoot({ manufacturer: 'globex', version: 2, threshold: 1, keys: [rootKey(a)] }, [a, b]);
    expect(verifyRotation(v1.signed, other).ok).toBe(false);
  });

  it.each([
    ['a threshold above the number of keys', { threshold: 4 }, /threshold is 4 but only 3/],
    ['a key listed twice', { keys: [rootKey(a), rootKey(a)] }, /lists a key twice/],
    ['a keyid that is not its key', { threshold: 1, keys: [{ ...rootKey(a), keyid: b.keyid }] }, /not the SHA-256/],
    ['no keys', { keys: [] }, /keys/],
    ['a zero threshold', { threshold: 0 }, /threshold/],
  ])('refuses a root with %s', (_name, change, message) => {
    const doc = { signed: { ...v1.signed, ...change }, signatures: v1.signatures };
    expect(() => parseRoot(JSON.stringify(doc))).toThrow(message);
  });

  it('refuses a signed root built with bad fields', () => {
    expect(() => root(1, [a], 2, [a])).toThrow(/threshold/);
  });

  it('refuses more rotations than it follows at once', () => {
    expect(followRotations(v1, Array(65).fill(v1) as RootEnvelope[]).ok).toBe(false);
  });

  it('is not fooled by a signature copied from another document', () => {
    const s = signEnvelope({ type: 'other' }, [a, b]);
    expect(verifyInitialRoot({ signed: v1.signed, signatures: s.signatures }).ok).toBe(false);
  });
});
