import { describe, expect, it } from 'vitest';
import { randomText } from '../../src/http/random-pool.ts';

describe('random pool', () => {
  it('hands out values that never repeat, across refills of the pool', () => {
    // 18 bytes does not divide 4096: draws straddle the end of each fill.
    const tokens = Array.from({ length: 2000 }, () => randomText(18, 'base64url'));
    expect(new Set(tokens).size).toBe(tokens.length);
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const ids = Array.from({ length: 1000 }, () => randomText(8, 'hex'));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
  });

  it('refuses a draw it cannot make', () => {
    for (const n of [0, -1, 1.5, 4097, Number.NaN]) expect(() => randomText(n, 'hex')).toThrow(RangeError);
  });
});
