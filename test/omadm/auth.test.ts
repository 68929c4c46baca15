import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import {
  basicCredential,
  decodeNonce,
  encodeNonce,
  hmacHeader,
  hmacMac,
  hmacSha256,
  hmacSha256Key,
  md5Digest,
  newNonce,
  parseBasicCredential,
  parseHmacHeader,
  verifyCredential,
  verifyHmac,
} from '../../src/omadm/auth.ts';

const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const dev01 = { name: 'dev01', password: 'clientpw' };

describe('OMA DM authentication vectors (PROTOCOL.md)', () => {
  it('computes the basic credential Bruce2:OhBehave', () => {
    expect(basicCredential('Bruce2', 'OhBehave')).toBe('QnJ1Y2UyOk9oQmVoYXZl');
  });

  it.each([
    ['Bruce2', 'OhBehave', 'Nonce', 'Zz6EivR3yeaaENcRN6lpAQ=='],
    ['dev01', 'clientpw', '1234567890abcdef', 'ts2ATuvghZyIcuyZDaNgbA=='],
    ['dmsrv', 'srvpw', 'serverNonce01', 'tixMcptWgCdZQy6jBTrRgQ=='],
  ])('computes the md5 digest for %s/%s/%s', (name, password, nonce, expected) => {
    expect(md5Digest(name, password, text(nonce))).toBe(expected);
  });

  it('computes the HMAC for dev01/clientpw/1234567890abcdef over "hello"', () => {
    expect(hmacMac('dev01', 'clientpw', text('1234567890abcdef'), text('hello'))).toBe('Gg0JGpcGVfo5xV7hFDHKOQ==');
  });

  it('uses nonce bytes as raw bytes, not as text', () => {
    const nonce = new Uint8Array([0xff, 0x00, 0x80, 0xc3]);
    const asText = new TextEncoder().encode(new TextDecoder().decode(nonce));
    expect(md5Digest('a', 'b', nonce)).not.toBe(md5Digest('a', 'b', asText));
  });
});

describe('basic credentials', () => {
  it('parses a credential back into name and password, keeping colons in the password', () => {
    expect(parseBasicCredential('QnJ1Y2UyOk9oQmVoYXZl')).toEqual({ name: 'Bruce2', password: 'OhBehave' });
    expect(parseBasicCredential(basicCredential('dev', 'a:b:c'))).toEqual({ name: 'dev', password: 'a:b:c' });
    expect(parseBasicCredential(basicCredential('dév', 'pässwörd'))).toEqual({ name: 'dév', password: 'pässwörd' });
  });

  it.each([
    ['empty', ''],
    ['not base64', 'not base64!'],
    ['no colon', Buffer.from('justaname').toString('base64')],
    ['empty name', Buffer.from(':pw').toString('base64')],
    ['invalid UTF-8', Buffer.from([0x61, 0x3a, 0xff, 0xfe]).toString('base64')],
    ['impossible length', 'QnJ1Y'],
    ['padding in the middle', 'QQ==QQ=='],
    ['oversize', 'QUFB'.repeat(1000)],
  ])('refuses %s without throwing', (_name, data) => {
    expect(parseBasicCredential(data)).toBeUndefined();
  });

  it('verifies the right credential and refuses a wrong password or name', () => {
    const expected = { name: 'Bruce2', password: 'OhBehave' };
    expect(verifyCredential({ type: 'syncml:auth-basic', data: 'QnJ1Y2UyOk9oQmVoYXZl' }, expected, undefined)).toBe(true);
    const wrongPassword = basicCredential('Bruce2', 'OhBehav');
    expect(verifyCredential({ type: 'syncml:auth-basic', data: wrongPassword }, expected, undefined)).toBe(false);
    const wrongName = basicCredential('Bruce3', 'OhBehave');
    expect(verifyCredential({ type: 'syncml:auth-basic', data: wrongName }, expected, undefined)).toBe(false);
  });
});

describe('md5 credentials', () => {
  const nonce = text('1234567890abcdef');
  const md5 = (data: string): { type: string; data: string } => ({ type: 'syncml:auth-md5', data });

  it('verifies the right digest', () => {
    expect(verifyCredential(md5('ts2ATuvghZyIcuyZDaNgbA=='), dev01, nonce)).toBe(true);
  });

  it('accepts the type in any case and the digest without padding', () => {
    expect(verifyCredential({ type: 'SYNCML:AUTH-MD5', data: 'ts2ATuvghZyIcuyZDaNgbA' }, dev01, nonce)).toBe(true);
  });

  it('refuses a wrong password, a wrong name and a wrong nonce', () => {
    expect(verifyCredential(md5('ts2ATuvghZyIcuyZDaNgbA=='), { ...dev01, password: 'clientpw2' }, nonce)).toBe(false);
    expect(verifyCredential(md5('ts2ATuvghZyIcuyZDaNgbA=='), { ...dev01, name: 'dev02' }, nonce)).toBe(false);
    expect(verifyCredential(md5('ts2ATuvghZyIcuyZDaNgbA=='), dev01, text('1234567890abcdeF'))).toBe(false);
  });

  it('refuses an md5 credential without a nonce, or with an empty one', () => {
    expect(verifyCredential(md5('ts2ATuvghZyIcuyZDaNgbA=='), dev01, undefined)).toBe(false);
    expect(verifyCredential(md5(md5Digest('dev01', 'clientpw', new Uint8Array())), dev01, new Uint8Array())).toBe(false);
  });

  it('refuses a basic credential presented as md5', () => {
    expect(verifyCredential(md5(basicCredential('dev01', 'clientpw')), dev01, nonce)).toBe(false);
  });

  it.each([
    ['empty data', md5('')],
    ['garbage', md5('%%%')],
    ['wrong length', md5('AAAA')],
    ['oversize', md5('A'.repeat(5000))],
    ['unknown type', { type: 'syncml:auth-X509', data: 'ts2ATuvghZyIcuyZDaNgbA==' }],
    ['empty type', { type: '', data: 'ts2ATuvghZyIcuyZDaNgbA==' }],
  ])('returns false for %s without throwing', (_name, cred) => {
    expect(verifyCredential(cred, dev01, nonce)).toBe(false);
  });

  it('never throws on random credentials', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.uint8Array(), (type, data, n) => {
        expect(typeof verifyCredential({ type, data }, dev01, n)).toBe('boolean');
        expect(typeof verifyCredential({ type: 'syncml:auth-md5', data }, dev01, n)).toBe('boolean');
        expect(typeof verifyCredential({ type: 'syncml:auth-basic', data }, dev01, n)).toBe('boolean');
      }),
    );
  });
});

describe('x-syncml-hmac header', () => {
  const mac = 'Gg0JGpcGVfo5xV7hFDHKOQ==';
  const expected = { algorithm: 'MD5', username: 'dev01', mac };

  it.each([
    ['the canonical form', `algorithm=MD5, username="dev01", mac=${mac}`],
    ['no spaces', `algorithm=MD5,username="dev01",mac=${mac}`],
    ['extra spaces around = and ,', `  algorithm = MD5 ,  username = "dev01" , mac = ${mac}  `],
    ['another order', `mac=${mac}, username="dev01", algorithm=MD5`],
    ['unquoted username', `algorithm=MD5, username=dev01, mac=${mac}`],
    ['quoted mac and algorithm', `algorithm="MD5", username="dev01", mac="${mac}"`],
    ['single quotes', `algorithm=MD5, username='dev01', mac=${mac}`],
    ['semicolons', `algorithm=MD5; username="dev01"; mac=${mac}`],
    ['upper-case keys and lower-case algorithm', `ALGORITHM=md5, UserName="dev01", MAC=${mac}`],
    ['no algorithm (MD5 is the default)', `username="dev01", mac=${mac}`],
    ['an unknown extra field', `algorithm=MD5, username="dev01", mac=${mac}, realm=x`],
  ])('parses %s', (_name, value) => {
    expect(parseHmacHeader(value)).toEqual(expected);
  });

  it('keeps commas and escaped quotes inside a quoted username', () => {
    expect(parseHmacHeader(`username="a, \\"b\\"", mac=${mac}`)).toEqual({ algorithm: 'MD5', username: 'a, "b"', mac });
  });

  it.each([
    ['empty', ''],
    ['no mac', 'algorithm=MD5, username="dev01"'],
    ['no username', `algorithm=MD5, mac=${mac}`],
    ['empty username', `username="", mac=${mac}`],
    ['mac not base64', 'username="dev01", mac=not*base64'],
    ['unterminated quote', `username="dev01, mac=${mac}`],
    ['duplicate key', `username="dev01", username="dev02", mac=${mac}`],
    ['garbage after a quoted value', `username="dev01"x, mac=${mac}`],
    ['missing =', `username "dev01", mac=${mac}`],
    ['spaces inside an unquoted value', `username=dev 01, mac=${mac}`],
    ['control characters in the username', `username="dev\u000101", mac=${mac}`],
    ['oversize (> 1 KiB)', `username="${'a'.repeat(1100)}", mac=${mac}`],
  ])('refuses %s', (_name, value) => {
    expect(parseHmacHeader(value)).toBeUndefined();
  });

  it('never throws on random header strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 2000 }), (value) => {
        const parsed = parseHmacHeader(value);
        expect(parsed === undefined || typeof parsed.mac === 'string').toBe(true);
      }),
    );
    const piece = fc.constantFrom('algorithm', 'username', 'mac', '=', '"', "'", ',', ';', ' ', '\\', 'MD5', mac, 'x');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), (pieces) => {
        expect(() => parseHmacHeader(pieces.join(''))).not.toThrow();
      }),
    );
  });

  it('verifies a header built for the exact body and refuses any other body, nonce or account', () => {
    const nonce = text('1234567890abcdef');
    const body = text('hello');
    const header = hmacHeader('dev01', 'clientpw', nonce, body);
    expect(header).toBe(`algorithm=MD5, username="dev01", mac=${mac}`);
    expect(verifyHmac(header, dev01, nonce, body)).toBe(true);
    expect(verifyHmac(header, dev01, nonce, text('hello '))).toBe(false);
    expect(verifyHmac(header, dev01, text('1234567890abcdeX'), body)).toBe(false);
    expect(verifyHmac(header, { ...dev01, password: 'other' }, nonce, body)).toBe(false);
    expect(verifyHmac(header, { ...dev01, name: 'dev02' }, nonce, body)).toBe(false);
    expect(verifyHmac(undefined, dev01, nonce, body)).toBe(false);
    expect(verifyHmac(header, dev01, undefined, body)).toBe(false);
    expect(verifyHmac(header.replace('MD5', 'SHA1'), dev01, nonce, body)).toBe(false);
  });
});

describe('HMAC-SHA256 from one-shot hashes', () => {
  it('gives the bytes createHmac gives, for keys shorter and longer than a block and any text', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 150 }), fc.string({ unit: 'grapheme', maxLength: 200 }), (key, message) => {
        expect(hmacSha256(hmacSha256Key(key), message)).toEqual(createHmac('sha256', key).update(message).digest());
      }),
      { numRuns: 500 },
    );
  });
});

describe('nonces', () => {
  it('issues 16 fresh random bytes each time', () => {
    const a = newNonce();
    const b = newNonce();
    expect(a).toBeInstanceOf(Uint8Array);
    expect(a.length).toBe(16);
    expect(a).not.toEqual(b);
  });

  it('round-trips through base64', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(decodeNonce(encodeNonce(bytes))).toEqual(bytes);
      }),
    );
  });

  it('uses a libdmclient nonce (base64 of base64 text) as the decoded bytes, without decoding twice', () => {
    const inner = Buffer.from([1, 2, 3, 4, 5]).toString('base64');
    const sent = Buffer.from(inner).toString('base64');
    expect(decodeNonce(sent)).toEqual(new Uint8Array(Buffer.from(inner)));
  });

  it('reads base64 by the strict rules whatever the text: padding, whitespace, garbage', () => {
    // The rules as first written (regular expressions): the one-pass reading must agree with them.
    const strict = (text: string): Uint8Array | undefined => {
      const compact = text.replace(/[ \t\r\n]/g, '');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return undefined;
      const unpadded = compact.replace(/=+$/, '');
      if (unpadded.length % 4 === 1) return undefined;
      if (compact.length !== unpadded.length && compact.length % 4 !== 0) return undefined;
      return new Uint8Array(Buffer.from(unpadded, 'base64'));
    };
    const chars = fc.constantFrom(...'AZaz09+/=== \t\r\n-_!.'.split(''));
    const texts = fc.oneof(
      fc.string({ unit: chars, maxLength: 24 }),
      fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b).toString('base64')),
      fc.tuple(fc.uint8Array({ maxLength: 20 }), fc.nat(30), chars).map(([b, at, c]) => {
        const text = Buffer.from(b).toString('base64');
        const k = Math.min(at, text.length);
        return text.slice(0, k) + c + text.slice(k);
      }),
    );
    fc.assert(
      fc.property(texts, (text) => {
        const want = strict(text);
        if (want === undefined) expect(() => decodeNonce(text)).toThrow(AppError);
        else expect(decodeNonce(text)).toEqual(want);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses a NextNonce that is not base64 with a validation error', () => {
    expect(() => decodeNonce('not base64!')).toThrow(AppError);
    expect(() => decodeNonce('A'.repeat(2000))).toThrow(/NextNonce/);
  });
});
