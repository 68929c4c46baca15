import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../src/signing/canonical-json.ts';

describe('canonicalize (RFC 8785)', () => {
  it.each([
    [{ b: 1, a: 2 }, '{"a":2,"b":1}'],
    [{ z: { y: [3, { d: 1, c: 2 }] } }, '{"z":{"y":[3,{"c":2,"d":1}]}}'],
    // Keys sort by UTF-16 code units: "\u20ac" (euro) < "\ud83d..." (emoji) although the emoji's code point is higher.
    [{ '\u{1F600}': 1, '\u20ac': 2, a: 3, B: 4 }, '{"B":4,"a":3,"\u20ac":2,"\u{1F600}":1}'],
    [[1e21, 1e-7, 0.000001, -0, 123.456, 9007199254740991], '[1e+21,1e-7,0.000001,0,123.456,9007199254740991]'],
    ['line\nquote"back\\slash\u0001\u2028', '"line\\nquote\\"back\\\\slash\\u0001\u2028"'],
    [{ gone: undefined, kept: null }, '{"kept":null}'],
    [[true, false, null, '', {}, []], '[true,false,null,"",{},[]]'],
  ])('serialises %j as %s', (value, expected) => {
    expect(canonicalize(value)).toBe(expected);
  });

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a lone surrogate', 'x\ud800y'],
    ['a lone surrogate in a key', { '\udc00': 1 }],
    ['undefined in an array', [undefined]],
    ['a function', () => 1],
    ['a bigint', 10n],
    ['a Date', new Date(0)],
    ['a Map', new Map()],
  ])('refuses %s instead of producing ambiguous bytes', (_name, value) => {
    expect(() => canonicalize(value)).toThrow(/JSON form|canonicalized|surrogate/);
  });

  it('round-trips: parsing the canonical form gives the same value back', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalize(value);
        // JSON has no -0; the canonical form writes it as 0, like JSON.stringify.
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        expect(canonicalize(JSON.parse(text))).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it('does not depend on the order keys were inserted in', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (record) => {
        const reversed = Object.fromEntries(Object.entries(record).reverse());
        expect(canonicalize(reversed)).toBe(canonicalize(record));
      }),
      { numRuns: 300 },
    );
  });

  it('has no whitespace outside strings', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const outsideStrings = canonicalize(value).replace(/"(?:[^"\\]|\\.)*"/g, '""');
        expect(outsideStrings).not.toMatch(/\s/);
      }),
      { numRuns: 300 },
    );
  });
});
