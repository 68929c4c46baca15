// Reading a small signed JSON document (a target statement, a root of offline keys) from
// text that came over a network or from a file: a size limit before parsing, strict UTF-8,
// JSON, then the envelope shape, each failure a message naming the document. What is
// inside `signed` is left to the caller's schema; nothing here trusts it.
import { AppError } from '../errors.ts';
import { envelopeSchema, type Envelope } from './envelope.ts';

/** A statement is under 1 KiB plus ~150 bytes per signature; 64 KiB is far beyond honest use. */
export const MAX_SIGNED_DOCUMENT_BYTES = 64 * 1024;

export function parseSignedDocument(input: string | Uint8Array, what: string): Envelope<Record<string, unknown>> {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length;
  if (size > MAX_SIGNED_DOCUMENT_BYTES) throw new AppError('VALIDATION', `${what} is ${size} bytes; the limit is ${MAX_SIGNED_DOCUMENT_BYTES}`);
  let text: string;
  try {
    text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input);
  } catch {
    throw new AppError('VALIDATION', `${what} is not valid UTF-8`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError('VALIDATION', `${what} is not JSON`);
  }
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('VALIDATION', `${what}: ${issue ? `${issue.path.join('.') || 'document'} ${issue.message}` : 'not a signed document'}`);
  }
  return parsed.data;
}

/** The first zod issue as "<path> <message>", for refusals that name what to fix. */
export function firstIssue(error: { issues: Array<{ path: PropertyKey[]; message: string }> }): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.map(String).join('.') || 'document'} ${issue.message}` : 'bad shape';
}
