// One place turns errors into HTTP answers: an AppError becomes its status and
// {"error": {code, message}}; a client that went away mid-request is a warning, not a
// fault; a write a unique key refused (a lost race) is a 409; anything else is logged with its stack and becomes a 500 that reveals nothing
// about the inside. Refusals by the route validators (@hono/zod-openapi) are put in the
// same words here, so a client sees one error shape whoever refused.
import type { Context as HonoContext } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from 'pino';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { statusOf } from '../http/status.ts';
import { lingerAfterAnswer } from '../http/linger.ts';
import { nodeRequest } from '../http/node-request.ts';
import { redactSecrets } from '../http/redact.ts';
import { isUniqueViolation } from '../store/conflicts.ts';

export const errorBodySchema = z.object({ error: z.looseObject({ code: z.string(), message: z.string() }) });

/**
 * nginx's "client closed request": logged and counted apart from the server's own
 * failures, so a dashboard of 5xx answers shows only faults of the server.
 */
export const CLIENT_CLOSED_REQUEST = 499;

export function errorResponse(c: HonoContext, thrown: unknown, log: Logger) {
  const err = thrown instanceof HTTPException ? fromValidator(thrown) : thrown;
  // A client that hangs up mid-upload makes the body stream fail (ECONNRESET "aborted").
  // That is the client's doing and needs no stack; nobody is left to read the answer.
  if (c.req.raw.signal.aborted) return new Response(null, { status: clientWentAway(err, log) });
  // A refused upload may not have been read to its end: the connection cannot carry
  // another request, so tell the client not to reuse it, and close it without a reset
  // that could cost a client still sending its body the answer (linger.ts).
  // Under the Node server, Node's request says whether its body was read whole (asking
  // for the web Request's body would start reading it into a stream nobody reads).
  const incoming = nodeRequest(c.env);
  if (incoming ? !incoming.complete : c.req.raw.body) {
    c.header('connection', 'close');
    if (incoming) lingerAfterAnswer(incoming);
  }
  const { status, body } = errorAnswer(err, log);
  return c.json(body, status);
}

/** Logs a request its client abandoned; the status its log line and metrics show. */
export function clientWentAway(err: unknown, log: Logger): typeof CLIENT_CLOSED_REQUEST {
  log.warn({ reason: err instanceof Error ? err.message : String(err) }, 'client went away before the request was answered');
  return CLIENT_CLOSED_REQUEST;
}

/** A failure as the client sees it (logged when it is the server's): status and JSON body. */
export function errorAnswer(err: unknown, log: Logger): { status: ContentfulStatusCode; body: z.infer<typeof errorBodySchema> } {
  if (err instanceof AppError) {
    const status = statusOf[err.code];
    if (status >= 500) log.error({ err }, 'request failed');
    // Messages name what was asked for ("no device <id>"); an id may be a pasted token.
    return { status, body: { error: { code: err.code, message: redactSecrets(err.message), ...err.details } } };
  }
  // A check-then-insert that lost a race (two requests, or two server processes, at once):
  // the database kept its key, and the client can look again and retry.
  if (isUniqueViolation(err)) {
    log.warn({ reason: err instanceof Error ? err.message : String(err) }, 'write refused by a unique key: a concurrent request got there first');
    return { status: 409, body: { error: { code: 'CONFLICT', message: 'another request changed the same record at the same time; look again and retry' } } };
  }
  log.error({ err }, 'unexpected error');
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error; the server log has the details' } } };
}

/** Where each validation target is, as a client reads it in "<where>: <field> <problem>". */
const WHERE: Record<string, string> = { json: 'body', query: 'query', param: 'path', header: 'header' };

/** A request part that failed its schema: a 400 naming the first field and what is wrong with it. */
export function validationError(target: string, error: z.ZodError): AppError {
  const where = WHERE[target] ?? target;
  const issue = error.issues[0];
  const field = issue?.path.join('.') || where;
  return new AppError('VALIDATION', `${where}: ${field} ${issue?.message ?? 'is invalid'}`);
}

/**
 * The JSON body validator throws before any schema sees the body: 400 when it is not
 * JSON, 415 when it comes as another media type. Any other HTTPException stays unknown
 * (a 500 with a stack), since nothing else in the API is meant to throw one.
 */
function fromValidator(err: HTTPException): unknown {
  if (err.status === 400) return new AppError('VALIDATION', 'body: is not valid JSON', { cause: err });
  if (err.status === 415) return new AppError('UNSUPPORTED_MEDIA_TYPE', 'body: send JSON with Content-Type: application/json', { cause: err });
  return err;
}
