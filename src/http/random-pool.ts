// Random text for values made per request (DM session tokens, request ids), cut
// from one buffer the CSPRNG fills 4 KiB at a time. A randomBytes call per value cost
// more than the rest of making it, and under load far more (bench/dm.ts: 25 µs for the
// 18 bytes of a session token). Each byte is handed out once: a value never shares bytes
// with another, and what is left at the end of a buffer too short for a draw is dropped.
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let at = POOL_BYTES;

/** Where in `pool` the next `n` unused bytes start. */
function draw(n: number): number {
  if (!Number.isInteger(n) || n <= 0 || n > POOL_BYTES) throw new RangeError(`a draw of random bytes takes 1 to ${POOL_BYTES} bytes, not ${n}`);
  if (at + n > POOL_BYTES) {
    randomFillSync(pool);
    at = 0;
  }
  at += n;
  return at - n;
}

/** `n` random bytes, as text in `encoding`. */
export function randomText(n: number, encoding: 'hex' | 'base64url'): string {
  const from = draw(n);
  return pool.toString(encoding, from, from + n);
}

