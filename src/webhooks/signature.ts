// The signature on operator webhook deliveries, for the sender and for receivers.
// X-Fota-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>, where
// timestamp is X-Fota-Timestamp (Unix seconds at sending) and secret is the string shown
// once at registration. Signing the timestamp with the body lets a receiver refuse a
// captured delivery replayed later: it checks the signature, then that the timestamp is
// within its window of now. Only node:crypto, so a receiver can copy this file.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const TIMESTAMP_HEADER = 'x-fota-timestamp';
export const SIGNATURE_HEADER = 'x-fota-signature';
/** Five minutes either way: the default replay window for verifyWebhookSignature. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export function signWebhook(secret: string, timestamp: number, body: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

export type Verified = { ok: true } | { ok: false; reason: string };

/**
 * A receiver's check: the signature header is the HMAC of this timestamp and these exact
 * body bytes (verify before parsing), and the timestamp is within `toleranceSeconds` of
 * `nowSeconds`. Compared in constant time.
 */
export function verifyWebhookSignature(input: {
  secret: string;
  body: string | Uint8Array;
  timestamp: string | undefined;
  signature: string | undefined;
  nowSeconds?: number;
  toleranceSeconds?: number;
}): Verified {
  const { secret, body, timestamp, signature } = input;
  if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: `missing or malformed ${TIMESTAMP_HEADER}` };
  if (signature === undefined || !/^sha256=[0-9a-f]{64}$/.test(signature)) return { ok: false, reason: `missing or malformed ${SIGNATURE_HEADER}` };
  const expected = Buffer.from(signWebhook(secret, Number(timestamp), body));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'signature does not match the body' };
  const now = input.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(now - Number(timestamp)) > tolerance) return { ok: false, reason: `timestamp is more than ${tolerance} s from now (a replay, or a clock off)` };
  return { ok: true };
}
