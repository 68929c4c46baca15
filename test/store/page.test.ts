// The list cursor: what it encodes comes back, and anything a client may send instead
// (random text, other lists' cursors, JSON of another shape) is a VALIDATION error, never
// another kind of failure (which the API would answer with a 500).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { decodeCursor, encodeCursor, pageQuerySchema } from '../../src/store/page.ts';

function refusal(fn: () => unknown): AppError | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
}

describe('list cursors', () => {
  it('give back the key they carry, for their own list only', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 200 }), (key) => {
        const cursor = encodeCursor('devices', key);
        expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(decodeCursor('devices', cursor)).toBe(key);
        expect(refusal(() => decodeCursor('builds', cursor))?.code).toBe('VALIDATION');
      }),
    );
  });

  it('refuse any other text as VALIDATION and nothing else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 600 }), fc.base64String({ maxLength: 600 }).map((s) => s.replace(/[+/=]/g, '_')), fc.json().map((j) => Buffer.from(j).toString('base64url'))), (text) => {
        let key: string | undefined;
        const err = refusal(() => (key = decodeCursor('devices', text)));
        // A random string that happens to be a well-formed cursor of this list is a position, not an error.
        if (err) expect(err.code).toBe('VALIDATION');
        else expect(typeof key).toBe('string');
      }),
    );
    expect(decodeCursor('devices', undefined)).toBeUndefined();
  });

  it('take limits from 1 to 500, 50 when none is given', () => {
    expect(pageQuerySchema.parse({})).toEqual({ limit: 50 });
    expect(pageQuerySchema.parse({ limit: '500' }).limit).toBe(500);
    for (const limit of ['0', '501', '2.5', 'x', '-3', '1e9']) expect(pageQuerySchema.safeParse({ limit }).success, limit).toBe(false);
  });
});
