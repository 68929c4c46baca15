// HTTP range selection for package downloads (RFC 9110 §13.1.5, §14): which bytes of a
// representation of `size` bytes a request gets. Pure, so every edge is tested directly.
import type { ByteRange } from '../store/artifacts/artifact-store.ts';

export type RangeChoice =
  | { kind: 'whole' }
  | { kind: 'partial'; range: ByteRange }
  /** The range starts past the end (or asks for the last 0 bytes): 416, naming the size. */
  | { kind: 'unsatisfiable' };

export interface RangeRequest {
  method: string;
  range?: string | undefined;
  ifRange?: string | undefined;
}

const WHOLE: RangeChoice = { kind: 'whole' };
const SPEC = /^(\d*)-(\d*)$/;

/**
 * - Range is defined for GET only; on HEAD (and any other method) it is ignored, as RFC
 *   9110 §14.2 requires, so HEAD always describes the whole representation.
 * - If-Range: only our strong ETag, compared strongly, lets the range through. A weak tag,
 *   another tag or a date (we send no Last-Modified, so no date can match) gets the whole
 *   body, which is what a client resuming a changed file needs.
 * - A Range header that does not parse is ignored (200 whole), as the RFC says.
 * - Several ranges get the whole body with 200, which the RFC allows: a device resumes
 *   with one range, and multipart/byteranges would only add a format for it to parse.
 */
export function chooseRange(request: RangeRequest, size: number, etag: string): RangeChoice {
  if (request.method !== 'GET' || request.range === undefined) return WHOLE;
  if (request.ifRange !== undefined && request.ifRange.trim() !== etag) return WHOLE;
  return parseRange(request.range, size);
}

/** One `Range` header against a representation of `size` bytes. */
export function parseRange(header: string, size: number): RangeChoice {
  const eq = header.indexOf('=');
  if (eq < 0 || header.slice(0, eq).trim().toLowerCase() !== 'bytes') return WHOLE;
  // A list may carry empty elements and spaces around commas (RFC 9110 §5.6.1).
  const specs = header
    .slice(eq + 1)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const parsed: Array<{ first: string; last: string }> = [];
  for (const spec of specs) {
    const match = SPEC.exec(spec);
    const first = match?.[1] ?? '';
    const last = match?.[2] ?? '';
    if (!match || (first === '' && last === '')) return WHOLE;
    // `5-3` makes the whole header invalid, not merely unsatisfiable.
    if (first !== '' && last !== '' && Number(last) < Number(first)) return WHOLE;
    parsed.push({ first, last });
  }
  const [only] = parsed;
  if (only === undefined || parsed.length > 1) return WHOLE;
  // Number() of a long digit string is a huge (or infinite) float: still compares right.
  if (only.first === '') {
    const suffix = Number(only.last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', range: { start: Math.max(0, size - suffix), end: size - 1 } };
  }
  const start = Number(only.first);
  if (start >= size) return { kind: 'unsatisfiable' };
  const end = only.last === '' ? size - 1 : Math.min(Number(only.last), size - 1);
  return { kind: 'partial', range: { start, end } };
}
