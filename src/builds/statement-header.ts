// How an upload carries the manufacturer's target statement: the raw body is the image
// (streamed, never buffered), so the statement travels beside it in one request header,
// base64url of its JSON. Small enough for any proxy's header limits (a statement with 16
// signatures is under 4 KiB encoded); anything larger is refused before it is decoded.
import { AppError } from '../errors.ts';
import { parseTargetStatement, type TargetEnvelope } from '../signing/target-statement.ts';

export const TARGET_STATEMENT_HEADER = 'fota-target-statement';
export const MAX_STATEMENT_HEADER_CHARS = 12 * 1024;

export function encodeStatementHeader(statement: TargetEnvelope): string {
  return Buffer.from(JSON.stringify(statement), 'utf8').toString('base64url');
}

export function decodeStatementHeader(value: string): TargetEnvelope {
  if (value.length > MAX_STATEMENT_HEADER_CHARS) throw new AppError('VALIDATION', `the ${TARGET_STATEMENT_HEADER} header is ${value.length} characters; a target statement is under ${MAX_STATEMENT_HEADER_CHARS}`);
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(value)) throw new AppError('VALIDATION', `the ${TARGET_STATEMENT_HEADER} header must be base64url of the statement's JSON (fota build upload --statement sends it)`);
  return parseTargetStatement(Buffer.from(value, 'base64url'), `the target statement in the ${TARGET_STATEMENT_HEADER} header`);
}
