import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signEnvelope, verifyEnvelope, type Envelope } from '../../src/signing/envelope.ts';
import { generateKey } from '../../src/signing/keys.ts';

const alice = generateKey();
const bob = generateKey();
const mallory = generateKey();
const manifest = { type: 'fota.package', target: { version: '2.0', sha256: 'ab'.repeat(32) }, n: 1 };

describe('signed envelopes', () => {
  it('verifies a signature by a trusted key', () => {
    const envelope = signEnvelope(manifest, [alice]);
    expect(verifyEnvelope(envelope, { keys: [alice] })).toEqual({ ok: true, keyids: [alice.keyid] });
  });

  it('rejects a package signed by an unknown key', () => {
    const verdict = verifyEnvelope(signEnvelope(manifest, [mallory]), { keys: [alice] });
    expect(verdict.ok).toBe(false);
  });

  it('does not count a revoked key', () => {
    const verdict = verifyEnvelope(signEnvelope(manifest, [alice]), { keys: [{ ...alice, revoked: true }] });
    expect(verdict).toMatchObject({ ok: false, keyids: [] });
  });

  it('rejects a changed manifest field', () => {
    const envelope = signEnvelope(manifest, [alice]);
    const tampered = { ...envelope, signed: { ...manifest, target: { ...manifest.target, version: '2.1' } } };
    expect(verifyEnvelope(tampered, { keys: [alice] }).ok).toBe(false);
  });

  it('does not count the same key twice towards a threshold', () => {
    const once = signEnvelope(manifest, [alice]);
    const twice = { ...once, signatures: [...once.signatures, ...once.signatures] };
    expect(verifyEnvelope(twice, { keys: [alice, bob], threshold: 2 })).toMatchObject({ ok: false, keyids: [alice.keyid] });
  });

  it('meets a threshold of 2 with two distinct trusted keys', () => {
    const envelope = signEnvelope(manifest, [alice, bob]);
    expect(verifyEnvelope(envelope, { keys: [alice, bob], threshold: 2 }).ok).toBe(true);
    expect(verifyEnvelope(envelope, { keys: [alice], threshold: 2 }).ok).toBe(false);
  });

  it('does not trust a signature filed under another key id', () => {
    const byMallory = signEnvelope(manifest, [mallory]);
    const relabelled: Envelope<unknown> = { ...byMallory, signatures: byMallory.signatures.map((s) => ({ ...s, keyid: alice.keyid })) };
    expect(verifyEnvelope(relabelled, { keys: [alice] }).ok).toBe(false);
  });

  it('ignores garbage signatures without throwing', () => {
    const envelope = { signed: manifest, signatures: [{ keyid: alice.keyid, sig: 'AAAA' }] };
    expect(verifyEnvelope(envelope, { keys: [alice] }).ok).toBe(false);
  });

  it('round-trips through JSON text and rejects any change to what was signed', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.string({ minLength: 1 }), (signed, extraKey) => {
        const envelope = signEnvelope(signed, [alice]);
        const received = JSON.parse(JSON.stringify(envelope)) as Envelope<Record<string, unknown>>;
        expect(verifyEnvelope(received, { keys: [alice] }).ok).toBe(true);
        const changed = { ...received, signed: { ...received.signed, [extraKey]: 'injected' } };
        if (received.signed[extraKey] !== 'injected') expect(verifyEnvelope(changed, { keys: [alice] }).ok).toBe(false);
      }),
      { numRuns: 60 }, // tweetnacl signs and verifies in pure JS: keep the run short
    );
  });
});
