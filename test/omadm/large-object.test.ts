// The large-object rules both sides share (src/omadm/large-object.ts): where values are
// cut (never inside a UTF-8 character, always forward), how much fits a message, and what
// a receiver answers to each chunk, for any value and any sizes (fast-check).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cutAt, fitChunk, OBJECT_TOO_LARGE, type OpenObject, SIZE_MISMATCH, takeChunk } from '../../src/omadm/large-object.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

describe('cutting a value into chunks', () => {
  it('cuts any text into chunks that are text on their own and join back to the value', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.integer({ min: 4, max: 64 }), (text, max) => {
        const bytes = new TextEncoder().encode(text);
        const parts: string[] = [];
        for (let from = 0; from < bytes.length; ) {
          const end = cutAt(bytes, from, max);
          expect(end).toBeGreaterThan(from);
          expect(end - from).toBeLessThanOrEqual(max);
          parts.push(utf8.decode(bytes.subarray(from, end)));
          from = end;
        }
        expect(parts.join('')).toBe(text);
      }),
    );
  });

  it('finds the largest chunk that fits the budget, even when encoding grows the data', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 1, max: 5_000 }), fc.integer({ min: 0, max: 400 }), fc.integer({ min: 1, max: 5 }), (remaining, budget, overhead, growth) => {
        const size = (n: number) => overhead + n * growth;
        const n = fitChunk(remaining, budget, size);
        expect(n).toBeLessThanOrEqual(remaining);
        if (n > 0) expect(size(n)).toBeLessThanOrEqual(budget);
        if (overhead >= budget) expect(n).toBe(0);
      }),
    );
  });
});

describe('receiving chunks', () => {
  const open = (declaredSize: number, received: number): OpenObject => ({ uri: './Log', declaredSize, received });

  it('accepts chunks that add up to the declared size, and only those', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 500 }), { minLength: 1, maxLength: 20 }), fc.integer({ min: -3, max: 3 }), (sizes, lie) => {
        const total = sizes.reduce((a, b) => a + b, 0);
        const declared = Math.max(1, total + lie);
        let state: OpenObject | undefined;
        let verdict: ReturnType<typeof takeChunk> | undefined;
        for (const [i, bytes] of sizes.entries()) {
          const last = i === sizes.length - 1;
          verdict = takeChunk(state, { uri: './Log', ...(i === 0 ? { size: declared } : {}), bytes, moreData: !last }, 1_000_000);
          if (verdict.kind !== 'buffered') break;
          state = verdict.open;
        }
        if (sizes.length === 1) expect(verdict?.kind).toBe('whole');
        else if (declared === total) expect(verdict).toEqual({ kind: 'complete', size: total });
        else expect(verdict).toMatchObject({ kind: 'refused', status: SIZE_MISMATCH });
      }),
    );
  });

  it('refuses a first chunk without a size (424), a size past MaxObjSize (413), and more data after the declared size (424)', () => {
    expect(takeChunk(undefined, { uri: './Log', bytes: 10, moreData: true }, 100)).toMatchObject({ kind: 'refused', status: SIZE_MISMATCH });
    expect(takeChunk(undefined, { uri: './Log', size: 101, bytes: 10, moreData: true }, 100)).toMatchObject({ kind: 'refused', status: OBJECT_TOO_LARGE });
    expect(takeChunk(undefined, { uri: './Log', size: 100, bytes: 10, moreData: true }, 100)).toMatchObject({ kind: 'buffered' });
    expect(takeChunk(open(100, 90), { uri: './Log', bytes: 10, moreData: true }, 100)).toMatchObject({ kind: 'refused', status: SIZE_MISMATCH });
    expect(takeChunk(open(100, 90), { uri: './Log', bytes: 11, moreData: false }, 100)).toMatchObject({ kind: 'refused', status: SIZE_MISMATCH });
    expect(takeChunk(undefined, { uri: './Log', size: 10, bytes: 10, moreData: true }, 100)).toMatchObject({ kind: 'refused', status: SIZE_MISMATCH });
  });
});
