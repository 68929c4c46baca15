// One place turns errors into HTTP answers: an AppError becomes its status and
// {"error": {code, message}}; a client that went away mid-request is a warning, not a
// fault; anything else is logged with its stack and becomes a 500 that reveals nothing
// about the inside.
import type { Context as HonoContext } from 'hono';
import type { Logger } from 'pino';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { statusOf } from '../http/status.ts';
import { redactSecrets } from '../http/redact.ts';

export const errorBodySchema = z.object({ error: z.looseObject({ code: z.string(), message: z.string() }) });

/**
 * nginx's "client closed request": logged and counted apart from the server's own
 * failures, so a dashboard of 5xx answers shows only faults of the server.
 */
export const CLIENT_CLOSED_REQUEST = 499;

export function errorResponse(c: HonoContext, err: unknown, log: Logger) {
  // A client that hangs up mid-upload makes the body stream fail (ECONNRESET "aborted").
  // That is the client's doing and needs no stack; nobody is left to read the answer.
  if (c.req.raw.signal.aborted) {
    log.warn({ reason: err instanceof Error ? err.message : String(err) }, 'client went away before the request was answered');
    return new Response(null, { status: CLIENT_CLOSED_REQUEST });
  }
  // A refused upload may not have been read to its end: the connection cannot carry
  // another request, so tell the client not to reuse it.
  if (c.req.raw.body) c.header('connection', 'close');
  if (err instanceof AppError) {
    const status = statusOf[err.code];
    if (status >= 500) log.error({ err }, 'request failed');
    // Messages name what was asked for ("no device <id>"); an id may be a pasted token.
    return c.json({ error: { code: err.code, message: redactSecrets(err.message), ...err.details } }, status);
  }
  log.error({ err }, 'unexpected error');
  return c.json({ error: { code: 'INTERNAL', message: 'internal error; the server log has the details' } }, 500);
}

/** Parses input with a zod schema; failures become a 400 naming the field. */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown, where: string): z.infer<T> {
  const result = schema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.join('.') || where;
    throw new AppError('VALIDATION', `${where}: ${field} ${issue?.message ?? 'is invalid'}`);
  }
  return result.data;
}
