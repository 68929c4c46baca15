// What the DM path keeps between the messages of a session (src/bounded-map.ts):
// bounded, least recently used out first, and always the value its inputs derive, also
// for a key kept under another master key or after the device's password changed.
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Context } from '../src/context.ts';
import { challengeKey, challengeNonce } from '../src/dm/session/challenge.ts';
import { sessionPassword } from '../src/dm/session/password.ts';
import { KeyVault } from '../src/signing/vault.ts';
import type { DeviceRow } from '../src/store/queries/devices.ts';
import { BoundedMap } from '../src/bounded-map.ts';
import { encodeNonce } from '../src/omadm/auth.ts';

describe('recent values', () => {
  it('keep at most their limit, the least recently used going first', () => {
    const recent = new BoundedMap<string, number>(2);
    let computed = 0;
    const get = (key: string) => recent.kept(key, () => ++computed);
    expect(get('a')).toBe(1);
    expect(get('b')).toBe(2);
    expect(get('a')).toBe(1); // a hit: 'b' is now the oldest
    expect(get('c')).toBe(3);
    expect(recent.size).toBe(2);
    expect(get('a')).toBe(1);
    expect(get('b')).toBe(4); // evicted, computed again
  });

  it('drop the oldest entry when a new key is set into a full map, never on a replaced one', () => {
    const kept = new BoundedMap<string, number>(2);
    kept.set('a', 1).set('b', 2).set('a', 3); // a replaced key keeps its place
    expect([...kept]).toEqual([['a', 3], ['b', 2]]);
    kept.set('c', 4);
    expect([...kept]).toEqual([['b', 2], ['c', 4]]);
    expect(kept.use('b')).toBe(2); // a use moves it to the newest place
    kept.set('d', 5);
    expect([...kept]).toEqual([['b', 2], ['d', 5]]);
    expect(kept.use('c')).toBeUndefined();
  });

  it('evict in least-recently-used order through any mix of sets, uses, deletes and clears', () => {
    // A model: entries oldest first, as a list.
    type Op = { op: 'set' | 'use' | 'delete' | 'clear'; key: number; value: number };
    const op = fc.record({ op: fc.constantFrom<Op['op']>('set', 'set', 'set', 'use', 'use', 'delete', 'clear'), key: fc.nat(9), value: fc.nat(99) });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(op, { maxLength: 300 }), (capacity, ops) => {
        const kept = new BoundedMap<number, number>(capacity);
        let model: Array<[number, number]> = [];
        for (const { op, key, value } of ops) {
          const at = model.findIndex(([k]) => k === key);
          if (op === 'set') {
            kept.set(key, value);
            if (at !== -1) model[at] = [key, value];
            else {
              if (model.length >= capacity) model = model.slice(1);
              model.push([key, value]);
            }
          } else if (op === 'use') {
            const found = at === -1 ? undefined : (model[at] as [number, number]);
            expect(kept.use(key)).toBe(found?.[1]);
            if (found) model = [...model.filter(([k]) => k !== key), found];
          } else if (op === 'delete') {
            kept.delete(key);
            model = model.filter(([k]) => k !== key);
          } else {
            kept.clear();
            model = [];
          }
          expect([...kept]).toEqual(model);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('answer a challenge with the HMAC of its inputs under the key given, kept or not', () => {
    const subject = { deviceId: 'IMEI:9', sessionId: '2C', currentNonce: null };
    const expected = (key: Uint8Array, msgId: number) => encodeNonce(createHmac('sha256', key).update(JSON.stringify([subject.deviceId, subject.sessionId, msgId, ''])).digest().subarray(0, 16));
    const one = new Uint8Array(32).fill(7);
    const other = new Uint8Array(32).fill(8);
    for (let round = 0; round < 2; round++) {
      expect(challengeNonce(challengeKey(one), subject, 1)).toBe(expected(one, 1));
      expect(challengeNonce(challengeKey(other), subject, 1)).toBe(expected(other, 1));
      // A view into a larger buffer is keyed by its own bytes, not the buffer's.
      const view = new Uint8Array(64).fill(8).subarray(32);
      view.fill(7);
      expect(challengeNonce(challengeKey(view), subject, 1)).toBe(expected(one, 1));
    }
  });

  it('answer the password of a device from what was kept only while its row holds the same sealed value, under the same master key', () => {
    const vault = KeyVault.fromKey(new Uint8Array(32).fill(1));
    const other = KeyVault.fromKey(new Uint8Array(32).fill(2));
    const sealedAs = (v: KeyVault, password: string) => {
      const { sealed, nonce } = v.seal(new TextEncoder().encode(password));
      return { id: 'dev_kept', authSecretSealed: sealed, authSecretNonce: nonce } as DeviceRow;
    };
    const ctxOf = (v: KeyVault) => ({ vault: v }) as Context;
    const first = sealedAs(vault, 'first secret');
    expect(sessionPassword(ctxOf(vault), first)).toBe('first secret');
    expect(sessionPassword(ctxOf(vault), first)).toBe('first secret');
    // The password changed: the same device, a new sealed value.
    const second = sealedAs(vault, 'second secret');
    expect(sessionPassword(ctxOf(vault), second)).toBe('second secret');
    // Another master key opens its own sealed values, never answered from the first vault's.
    expect(sessionPassword(ctxOf(other), sealedAs(other, 'third secret'))).toBe('third secret');
    expect(sessionPassword(ctxOf(vault), second)).toBe('second secret');
  });
});
