// RFC 8785 (JSON Canonicalization Scheme): the exact bytes that signatures cover.
// Keys sorted by UTF-16 code units, no whitespace, ECMAScript number and string
// serialisation. Values JSON cannot represent are refused rather than silently dropped,
// because a signer and a verifier must never disagree on what was signed.
import { AppError } from '../errors.ts';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export function canonicalize(value: unknown): string {
  return serialize(value, '$');
}

export function canonicalBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalize(value));
}

function serialize(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new AppError('VALIDATION', `${path}: ${value} has no JSON form`);
      return JSON.stringify(value);
    case 'string':
      assertWellFormed(value, path);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v, i) => serialize(v, `${path}[${i}]`)).join(',')}]`;
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new AppError('VALIDATION', `${path}: only plain objects can be canonicalized`);
      }
      const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
      // Default sort compares UTF-16 code units, which is what RFC 8785 asks for.
      entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries
        .map(([k, v]) => {
          assertWellFormed(k, path);
          return `${JSON.stringify(k)}:${serialize(v, `${path}.${k}`)}`;
        })
        .join(',')}}`;
    }
    default:
      throw new AppError('VALIDATION', `${path}: a ${typeof value} has no JSON form`);
  }
}

// Lone surrogates cannot be encoded as UTF-8, so two parties could hash different bytes.
function assertWellFormed(s: string, path: string): void {
  if (!s.isWellFormed()) throw new AppError('VALIDATION', `${path}: string contains a lone surrogate`);
}
