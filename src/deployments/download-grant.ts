// Download grants: an expiring grant for one package to one device, carried in the URL
// (`/dl/<token>`) so a device needs no other credential to fetch its package, and any
// server process holding the same key can check it without a database lookup. Issued
// here, with a deployment's FUMO commands; the download transport only verifies them.
// Format: base64url(JSON grant) + '.' + base64url(HMAC-SHA256(key, first part)).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../errors.ts';

const grantSchema = z.object({
  packageId: z.string().min(1).max(128),
  deploymentId: z.string().min(1).max(128),
  deviceId: z.string().min(1).max(256),
  expiresAt: z.number().int().nonnegative(),
});

export type DownloadGrant = z.infer<typeof grantSchema>;

export type TokenError = { error: 'expired' | 'forged' | 'malformed' };

/** Longer tokens are refused before any decoding or hashing (a URL is no place for more). */
export const MAX_TOKEN_LENGTH = 1024;

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** The purpose the grant key is derived for (KeyVault.deriveKey). */
export const DOWNLOAD_KEY_PURPOSE = 'download';

/** The first path segment of every download link: `/dl/<token>`. */
export const DOWNLOAD_SEGMENT = 'dl';

/**
 * Whether a run of base64url characters and dots holds something shaped like a download
 * token, whole or cut short (16+ characters either side of a dot): what must never reach
 * a log line or an error body. Plain string work, linear in the run's length, because
 * it runs on every request path.
 */
export function looksLikeDownloadToken(run: string): boolean {
  const parts = run.split('.');
  return parts.some((part, i) => i > 0 && part.length >= 16 && (parts[i - 1]?.length ?? 0) >= 16);
}

export function issueDownloadToken(key: Uint8Array, grant: DownloadGrant): string {
  const payload = Buffer.from(JSON.stringify(grantSchema.parse(grant))).toString('base64url');
  const token = `${payload}.${sign(key, payload)}`;
  // Fail at issue time, not at the device: a token we would refuse must never be handed out.
  if (token.length > MAX_TOKEN_LENGTH) throw new AppError('VALIDATION', `a download token would be ${token.length} characters (limit ${MAX_TOKEN_LENGTH}); its ids are too long`);
  return token;
}

/**
 * The grant, or why it is refused. The signature is checked before the payload is parsed,
 * so nothing an attacker wrote reaches the JSON parser; expiry is checked last, so
 * 'expired' is only ever said of a token we really issued.
 */
export function verifyDownloadToken(key: Uint8Array, token: string, now: number): DownloadGrant | TokenError {
  if (token.length > MAX_TOKEN_LENGTH) return { error: 'malformed' };
  const parts = token.split('.');
  const [payload, signature] = parts;
  if (parts.length !== 2 || payload === undefined || signature === undefined || !BASE64URL.test(payload) || !BASE64URL.test(signature)) {
    return { error: 'malformed' };
  }
  // Compared as text, not as decoded bytes: base64 has several spellings of the same
  // bytes (unused low bits in the last character), and only the one we issued counts.
  const expected = Buffer.from(sign(key, payload));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { error: 'forged' };
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { error: 'malformed' };
  }
  const grant = grantSchema.safeParse(decoded);
  if (!grant.success) return { error: 'malformed' };
  if (now >= grant.data.expiresAt) return { error: 'expired' };
  return grant.data;
}

export function isTokenError(result: DownloadGrant | TokenError): result is TokenError {
  return 'error' in result;
}

function sign(key: Uint8Array, payload: string): string {
  return createHmac('sha256', key).update(payload).digest('base64url');
}
