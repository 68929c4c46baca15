// OMA DM 1.2 authentication as pure functions: syncml:auth-basic, syncml:auth-md5 and the
// x-syncml-hmac header (syncml:auth-MAC). H = raw MD5, B64 = base64 with padding; see
// PROTOCOL.md "Authentication". Nothing here does I/O or keeps state: the DM session code
// decides which nonce is current and what to answer (212/401/407).
import { hash, randomFillSync, timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors.ts';

export interface Credentials {
  name: string;
  password: string;
}

export interface HmacHeader {
  /** Upper-cased; OMA DM defines only MD5, and MD5 is the default when the header omits it. */
  algorithm: string;
  username: string;
  /** Base64 as sent; syntax checked, not yet verified. */
  mac: string;
}

export const AUTH_BASIC = 'syncml:auth-basic';
export const AUTH_MD5 = 'syncml:auth-md5';
export const AUTH_MAC = 'syncml:auth-MAC';

/** 16 bytes: 16 % 3 = 1, which avoids the client that decodes remainder-2 nonces as empty. */
export const NONCE_LENGTH = 16;

// Headers and credentials come straight from devices; anything longer is not a real client.
const MAX_HMAC_HEADER = 1024;
const MAX_CREDENTIAL_DATA = 1024;
const MAX_NONCE_TEXT = 1024;

// One-shot hashes (crypto.hash): a Hash object per digest cost more than the digest of a
// few dozen bytes, and a DM message with credentials takes several (bench/dm.ts).
const md5 = (bytes: Uint8Array): Buffer => hash('md5', bytes, 'buffer');
const sha256 = (bytes: Uint8Array): Buffer => hash('sha256', bytes, 'buffer');
const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/**
 * An HMAC-SHA256 key with its two padded blocks (RFC 2104) worked out once, for many MACs
 * under it (hmacSha256).
 */
export interface HmacSha256Key {
  /** key XOR ipad, 64 bytes. */
  inner: Buffer;
  /** key XOR opad, 64 bytes. */
  outer: Buffer;
}

const SHA256_BLOCK = 64;

export function hmacSha256Key(key: Uint8Array): HmacSha256Key {
  const bytes = key.length > SHA256_BLOCK ? sha256(key) : key;
  const inner = Buffer.alloc(SHA256_BLOCK, 0x36);
  const outer = Buffer.alloc(SHA256_BLOCK, 0x5c);
  for (let k = 0; k < bytes.length; k++) {
    inner[k] = (inner[k] as number) ^ (bytes[k] as number);
    outer[k] = (outer[k] as number) ^ (bytes[k] as number);
  }
  return { inner, outer };
}

/**
 * HMAC-SHA256 of `text` (UTF-8): the same bytes as createHmac('sha256', key), from two
 * one-shot hashes. A DM session's challenge takes one, and the Hmac object (its OpenSSL
 * context set up per call) cost more than the hashing: createHmac, update and digest were
 * 1.4-1.8% of the server's CPU in bench:dm's profiles, two one-shot SHA-256 about 0.8%.
 */
export function hmacSha256(key: HmacSha256Key, text: string): Buffer {
  const inner = sha256(Buffer.concat([key.inner, Buffer.from(text, 'utf8')]));
  return sha256(Buffer.concat([key.outer, inner]));
}

/**
 * Strict base64: Buffer.from(x, 'base64') silently skips garbage, which would let
 * "not base64" pass as some other bytes. Whitespace is dropped because XML pretty-printers
 * and line-wrapping encoders insert it; missing padding is tolerated.
 */
function decodeBase64(text: string): Buffer | undefined {
  // Nonces and digests come without whitespace: checked in one pass, as the rules below do.
  let data = 0;
  let padding = 0;
  for (let k = 0; k < text.length; k++) {
    const code = text.charCodeAt(k);
    if (code === 0x3d) padding += 1;
    else if (padding === 0 && isBase64Char(code)) data += 1;
    else if (code === 0x20 || code === 0x09 || code === 0x0d || code === 0x0a) return decodeSpacedBase64(text);
    else return undefined;
  }
  if (padding > 2 || data % 4 === 1 || (padding > 0 && (data + padding) % 4 !== 0)) return undefined;
  return Buffer.from(text, 'base64');
}

/** [A-Za-z0-9+/] */
function isBase64Char(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39) || code === 0x2b || code === 0x2f;
}

function decodeSpacedBase64(text: string): Buffer | undefined {
  const compact = text.replace(/[ \t\r\n]/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return undefined;
  const unpadded = compact.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) return undefined;
  if (compact.length !== unpadded.length && compact.length % 4 !== 0) return undefined;
  return Buffer.from(unpadded, 'base64');
}

/** B64(H(name:password)): the shared first step of md5, HMAC and the Package 0 digest. */
function userKey(name: string, password: string): Buffer {
  return utf8(md5(utf8(`${name}:${password}`)).toString('base64'));
}

export function basicCredential(name: string, password: string): string {
  return utf8(`${name}:${password}`).toString('base64');
}

/** Splits at the first colon: names cannot contain one, passwords may. */
export function parseBasicCredential(data: string): Credentials | undefined {
  if (data.length > MAX_CREDENTIAL_DATA) return undefined;
  const bytes = decodeBase64(data);
  if (bytes === undefined) return undefined;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  return { name: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** B64(H( B64(H(name:password)) + ":" + nonce )); the nonce is raw bytes, not text. */
export function md5Digest(name: string, password: string, nonce: Uint8Array): string {
  return md5DigestBytes(name, password, nonce).toString('base64');
}

/** md5Digest before its base64: the 16 bytes a device's Cred Data decodes to. */
function md5DigestBytes(name: string, password: string, nonce: Uint8Array): Buffer {
  return md5DigestUnder(userKey(name, password), nonce);
}

/** md5DigestBytes from the account's userKey. */
function md5DigestUnder(key: Buffer, nonce: Uint8Array): Buffer {
  return md5(Buffer.concat([key, COLON, nonce]));
}
const COLON = Buffer.from(':');

/** H( B64(H(name:password)) + ":" + nonce + ":" + B64(H(body)) ), raw 16 bytes. Package 0 uses this unencoded. */
export function hmacMacBytes(name: string, password: string, nonce: Uint8Array, body: Uint8Array): Uint8Array {
  return new Uint8Array(hmacMacUnder(userKey(name, password), nonce, bodyHashOf(body)));
}

/** B64(H(body)) as the MAC's input takes it. */
function bodyHashOf(body: Uint8Array): Buffer {
  return utf8(md5(body).toString('base64'));
}

/** hmacMacBytes from the account's userKey and the body's hash. */
function hmacMacUnder(key: Buffer, nonce: Uint8Array, bodyHash: Buffer): Buffer {
  return md5(Buffer.concat([key, COLON, nonce, COLON, bodyHash]));
}

export function hmacMac(name: string, password: string, nonce: Uint8Array, body: Uint8Array): string {
  return b64(hmacMacBytes(name, password, nonce, body));
}

/** The header value a sender puts in `x-syncml-hmac` for this body. */
export function hmacHeader(name: string, password: string, nonce: Uint8Array, body: Uint8Array): string {
  return `algorithm=MD5, username="${name}", mac=${hmacMac(name, password, nonce, body)}`;
}

/**
 * Parses `algorithm=MD5, username="<name>", mac=<b64>`. Clients differ in spacing, order,
 * quoting and separators (`,` or `;`), so all of those are accepted; duplicated keys are
 * refused because which one wins would be a guess. Never throws.
 */
export function parseHmacHeader(value: string): HmacHeader | undefined {
  if (value.length > MAX_HMAC_HEADER) return undefined;
  const fields = new Map<string, string>();
  const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t';
  const isSeparator = (c: string | undefined): boolean => c === ',' || c === ';';
  let i = 0;
  while (i < value.length) {
    while (isSpace(value[i]) || isSeparator(value[i])) i++;
    if (i >= value.length) break;
    const keyMatch = /^[A-Za-z][A-Za-z0-9_-]*/.exec(value.slice(i));
    if (keyMatch === null) return undefined;
    const key = keyMatch[0].toLowerCase();
    i += keyMatch[0].length;
    while (isSpace(value[i])) i++;
    if (value[i] !== '=') return undefined;
    i++;
    while (isSpace(value[i])) i++;
    let fieldValue = '';
    const quote = value[i];
    if (quote === '"' || quote === "'") {
      i++;
      let closed = false;
      while (i < value.length) {
        const c = value[i];
        if (c === quote) {
          closed = true;
          i++;
          break;
        }
        if (c === '\\' && i + 1 < value.length) {
          fieldValue += value[i + 1];
          i += 2;
          continue;
        }
        fieldValue += c;
        i++;
      }
      if (!closed) return undefined;
      while (isSpace(value[i])) i++;
      if (i < value.length && !isSeparator(value[i])) return undefined;
    } else {
      const start = i;
      while (i < value.length && !isSeparator(value[i])) i++;
      fieldValue = value.slice(start, i).trim();
      // An unquoted value with inner spaces means we misread the structure.
      if (/[ \t]/.test(fieldValue)) return undefined;
    }
    if (fields.has(key)) return undefined;
    fields.set(key, fieldValue);
  }
  const username = fields.get('username');
  const mac = fields.get('mac');
  const algorithm = (fields.get('algorithm') ?? 'MD5').toUpperCase();
  if (username === undefined || username === '' || /[\u0000-\u001f\u007f]/.test(username)) return undefined;
  if (mac === undefined || mac === '' || decodeBase64(mac) === undefined) return undefined;
  if (algorithm === '') return undefined;
  return { algorithm, username, mac };
}

/**
 * A fresh random nonce of its own (a copy, never shared). Cut from random bytes drawn 256
 * nonces at a time: a randomBytes call per nonce cost more than the rest of issuing it
 * (bench/dm.ts). Each byte of the pool is handed out once.
 */
export function newNonce(): Uint8Array {
  if (noncePoolAt === noncePool.length) {
    randomFillSync(noncePool);
    noncePoolAt = 0;
  }
  noncePoolAt += NONCE_LENGTH;
  return noncePool.slice(noncePoolAt - NONCE_LENGTH, noncePoolAt);
}
const noncePool = new Uint8Array(NONCE_LENGTH * 256);
let noncePoolAt = noncePool.length;

export function encodeNonce(bytes: Uint8Array): string {
  return b64(bytes);
}

/**
 * Decodes a NextNonce once and uses the bytes as given: libdmclient sends base64 of base64
 * text and expects the digest over that inner text, not over a second decoding.
 */
export function decodeNonce(text: string): Uint8Array {
  const bytes = text.length > MAX_NONCE_TEXT ? undefined : decodeBase64(text);
  if (bytes === undefined) {
    throw new AppError('VALIDATION', 'NextNonce is not valid base64 (at most 1 KiB of text)');
  }
  return new Uint8Array(bytes);
}

/**
 * Compares SHA-256 digests of both sides so the comparison takes the same time whatever the
 * lengths; timingSafeEqual on the raw values would need them equal-length and leak the length.
 */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

/**
 * Checks a SyncML Cred (Meta Type + Data) against the account's credentials. Returns false
 * for anything unknown or malformed; never throws. `syncml:auth-md5` needs the nonce this
 * side issued; an empty nonce is refused because a digest over it could be replayed forever.
 */
export function verifyCredential(
  cred: { type: string; data: string },
  expected: Credentials,
  nonce: Uint8Array | undefined,
): boolean {
  return credentialVerifier(cred, expected)(nonce);
}

/**
 * verifyCredential of one Cred for one account, for each of the nonces it may use (the DM
 * session tries two): the Cred decoded and B64(H(name:password)) worked out once, not per
 * nonce.
 */
export function credentialVerifier(cred: { type: string; data: string }, expected: Credentials): (nonce: Uint8Array | undefined) => boolean {
  // Devices spell the type as we do: trimmed and lower-cased only when not.
  const type = cred.type === AUTH_MD5 || cred.type === AUTH_BASIC ? cred.type : cred.type.trim().toLowerCase();
  if (cred.data.length > MAX_CREDENTIAL_DATA) return never;
  if (type === AUTH_BASIC) {
    const given = decodeBase64(cred.data);
    if (given === undefined) return never;
    const verifies = sameBytes(given, utf8(`${expected.name}:${expected.password}`));
    return () => verifies;
  }
  if (type === AUTH_MD5) {
    const given = decodeBase64(cred.data);
    if (given === undefined || given.length !== 16) return never;
    let key: Buffer | undefined;
    return (nonce) => {
      if (nonce === undefined || nonce.length === 0) return false;
      key ??= userKey(expected.name, expected.password);
      return timingSafeEqual(given, md5DigestUnder(key, nonce));
    };
  }
  return never;
}

const never = (): boolean => false;

/**
 * Checks an `x-syncml-hmac` header over the exact body bytes. The username must match the
 * account too: the MAC covers it, but a mismatch means the client picked another account.
 */
export function verifyHmac(
  headerValue: string | undefined,
  expected: Credentials,
  nonce: Uint8Array | undefined,
  body: Uint8Array,
): boolean {
  return hmacVerifier(headerValue, expected, body)(nonce);
}

/** verifyHmac of one header and body for one account, for each of the nonces it may use: the header read and the body hashed once. */
export function hmacVerifier(headerValue: string | undefined, expected: Credentials, body: Uint8Array): (nonce: Uint8Array | undefined) => boolean {
  if (headerValue === undefined) return never;
  const header = parseHmacHeader(headerValue);
  if (header === undefined || header.algorithm !== 'MD5') return never;
  const given = decodeBase64(header.mac);
  if (given === undefined || given.length !== 16) return never;
  const sameName = sameBytes(utf8(header.username), utf8(expected.name));
  let key: Buffer | undefined;
  let bodyHash: Buffer | undefined;
  return (nonce) => {
    if (nonce === undefined || nonce.length === 0) return false;
    key ??= userKey(expected.name, expected.password);
    bodyHash ??= bodyHashOf(body);
    const macOk = timingSafeEqual(given, hmacMacUnder(key, nonce, bodyHash));
    return sameName && macOk;
  };
}
