// A Status's code as the server reads it: three digits, or nothing. A device (or a fuzzer)
// sending anything else there must not reach the database as NaN.
import { describe, expect, it } from 'vitest';
import { statusCodeOf } from '../../src/dm/session/client-commands.ts';

describe('statusCodeOf', () => {
  it.each([
    ['200', 200],
    [' 212\n', 212],
    ['407', 407],
  ])('reads %j as %d', (data, code) => expect(statusCodeOf(data)).toBe(code));

  it.each(['', '2x0', '20', '2000', '-200', '2e2', '0x1F', 'NaN', '200 OK'])('reads %j as no code', (data) => expect(statusCodeOf(data)).toBeUndefined());

  it('reads a missing Data as no code', () => expect(statusCodeOf(undefined)).toBeUndefined());
});
