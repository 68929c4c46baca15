// POST /dm: the OMA DM endpoint. Reads the body within the size limit, hands it to the
// session handler, and answers in the request's encoding. Devices authenticate inside
// SyncML (digest, basic or HMAC), not with API tokens. Under the Node server the endpoint
// is served from Node's request itself, before the Hono app (server.ts): a web Request
// (its Headers, body stream and AbortSignal) and the app's routing and middleware for
// every DM message cost more than decoding the message. Tests through `app.request()`
// reach the same answerDm through the Hono route.
import { IncomingMessage } from 'node:http';
import type { Hono } from 'hono';
import type { AppEnv } from '../http/app-env.ts';
import type { Context } from '../context.ts';
import { encodingOf } from '../omadm/codec/syncml.ts';
import type { DmGuard } from './session/guard.ts';
import type { handleDmMessage as HandleDmMessage } from './session/handle.ts';

/**
 * The session handler (session/handle.ts and the some fifty modules only it needs: DM
 * sessions, the codec's writers, FUMO, SCOMO, profiles) loads with the first DM message,
 * not at start: 1.5 MiB less memory once the server listens (bench/startup.ts). The first
 * call replaces this binding with the handler itself: later messages call it directly.
 */
let handleDmMessage: typeof HandleDmMessage = async (...args) => {
  handleDmMessage = (await import('./session/handle.ts')).handleDmMessage;
  return handleDmMessage(...args);
};

/** The endpoint's path: POST only. */
export const DM_PATH = '/dm';

/** What the endpoint answers, in HTTP terms either server writes. */
export interface DmHttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array | string;
}

/** One request as the endpoint reads it, from Node's request or a web Request. */
interface DmHttpRequest {
  header(name: string): string | undefined;
  /** The whole body, or undefined once it passes `limit` bytes. */
  body(limit: number): Promise<Uint8Array | undefined>;
  /** The origin the client reached (`http://host:port`), and the query's session token. */
  origin: string;
  token: string | undefined;
  address: string;
}

/** As Hono's c.text writes it. */
const TEXT = 'text/plain; charset=UTF-8';

async function answerDm(ctx: Context, guard: DmGuard, request: DmHttpRequest): Promise<DmHttpAnswer> {
  const contentType = request.header('content-type') ?? '';
  try {
    encodingOf(contentType);
  } catch {
    return { status: 415, headers: { 'content-type': TEXT }, body: `unsupported content type ${JSON.stringify(contentType.slice(0, 100))}; send application/vnd.syncml.dm+xml or +wbxml\n` };
  }
  const limit = ctx.config.dm.maxMessageBytes;
  const tooLarge = { status: 413, headers: { 'content-type': TEXT, connection: 'close' }, body: `a DM message is limited to ${limit} bytes\n` };
  if (Number(request.header('content-length') ?? 0) > limit) return tooLarge;
  const body = await request.body(limit);
  if (!body) return tooLarge;
  // Every field written, an absent one (or an empty one, as before) as undefined: one
  // shape for every message. Conditional spreads here and of the answer's headers below
  // cost about 1% of the server's CPU in bench:dm's profile (V8's slow object cloning).
  const response = await handleDmMessage(ctx, guard, {
    body,
    contentType,
    token: request.token || undefined,
    hmacHeader: request.header('x-syncml-hmac') || undefined,
    serverUrl: ctx.config.dm.publicUrl ? `${ctx.config.dm.publicUrl}${DM_PATH}` : `${request.origin}${DM_PATH}`,
    address: request.address,
  });
  // Most answers carry no headers of their own (a 429 says when to come back).
  const headers = response.headers === undefined ? { 'content-type': response.contentType } : { ...response.headers, 'content-type': response.contentType };
  return { status: response.status, headers, body: response.body };
}

/** The route on the Hono app (app.request() in tests; a Node server answers before it). */
export function mountDm(app: Hono<AppEnv>, ctx: Context, guard: DmGuard): void {
  app.post(DM_PATH, async (c) => {
    const url = new URL(c.req.url);
    const incoming = incomingOf(c.env);
    const answer = await answerDm(ctx, guard, {
      header: (name) => c.req.header(name),
      body: (limit) => readLimited(c.req.raw, limit),
      origin: url.origin,
      token: url.searchParams.get('s') ?? undefined,
      address: incoming?.socket.remoteAddress ?? 'unknown',
    });
    return c.body(answer.body as Uint8Array<ArrayBuffer>, answer.status as 200, answer.headers);
  });
}

/** A Host header that is a name or address and maybe a port, nothing else. */
const PLAIN_HOST = /^[A-Za-z0-9._-]+(?::\d{1,5})?$/;

/**
 * Whether Node's request is one for the endpoint: POST to its path (with any query). One
 * whose Host header is missing or unusual goes to the app, whose adapter checks it.
 */
export function isDmRequest(incoming: IncomingMessage): boolean {
  const url = incoming.url ?? '';
  const host = incoming.headers.host;
  return incoming.method === 'POST' && url.startsWith(DM_PATH) && (url.length === DM_PATH.length || url[DM_PATH.length] === '?') && host !== undefined && PLAIN_HOST.test(host);
}

/**
 * The endpoint on Node's request (isDmRequest). Its socket's peer is the client's
 * address (behind a proxy, the proxy's: README, FOTA_DM_ADDRESS_MAX_FAILURES=0 there).
 * Throws what the handler throws; a client gone mid-body makes it throw too.
 */
export function answerDmFromNode(ctx: Context, guard: DmGuard, incoming: IncomingMessage): Promise<DmHttpAnswer> {
  // isDmRequest let through only the path itself, with or without a query.
  const target = incoming.url ?? DM_PATH;
  const query = target.indexOf('?');
  return answerDm(ctx, guard, {
    header: (name) => headerOf(incoming, name),
    body: (limit) => readIncoming(incoming, limit),
    origin: originOf(incoming.headers.host ?? 'localhost'),
    token: query === -1 ? undefined : tokenOf(target.slice(query + 1)),
    address: incoming.socket.remoteAddress ?? 'unknown',
  });
}

/**
 * `http://host` as the URL class spells an origin (lower case, no default port), kept per
 * Host header: a server is reached under one or two names, and parsing a URL per message
 * cost more than the rest of reading its request line.
 */
function originOf(host: string): string {
  let origin = origins.get(host);
  if (origin === undefined) {
    origin = new URL(`http://${host}`).origin;
    // Bounded: the Host header is the client's choice.
    if (origins.size >= 64) origins.clear();
    origins.set(host, origin);
  }
  return origin;
}
const origins = new Map<string, string>();

/** The query's session token (`s`), read as URL's searchParams would (up to a fragment). */
function tokenOf(query: string): string | undefined {
  const hash = query.indexOf('#');
  const search = hash === -1 ? query : query.slice(0, hash);
  // The RespURI we hand out (`?s=<token>`, a token of URL-safe characters: nothing to
  // decode) read without a URLSearchParams, which cost 4x as much; anything else with one.
  return OWN_TOKEN_QUERY.exec(search)?.[1] ?? new URLSearchParams(search).get('s') ?? undefined;
}
const OWN_TOKEN_QUERY = /^s=([\w-]+)$/;

/** Node's request under @hono/node-server (`env.incoming`); none in app.request(). */
function incomingOf(env: unknown): IncomingMessage | undefined {
  if (typeof env !== 'object' || env === null || !('incoming' in env) || !(env.incoming instanceof IncomingMessage)) return undefined;
  return env.incoming;
}

/** A header as the web Headers would give it: repeated ones joined by ", ". */
function headerOf(incoming: IncomingMessage, name: string): string | undefined {
  const value = incoming.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * The whole body of Node's request, or undefined once it passes `limit` bytes (reading
 * stops there; the 413 closes the connection). A client that hangs up makes it fail, as
 * the web stream does (the error handler sees the request aborted: 499).
 *
 * A DM message comes in one segment with its headers, and the request is handed over at
 * the end of its headers, before Node's parser has gone on to the body. One microtask
 * later the parser has passed on the body (each of its callbacks runs tasks queued in the
 * one before): once as many bytes as Content-Length says are in the request's buffer, the
 * body is read from there at once, without a 'data' and an 'end' event and the three
 * ticks that emit them. A body still on its way, or without a length, is read from the
 * events.
 */
function readIncoming(incoming: IncomingMessage, limit: number): Promise<Uint8Array | undefined> {
  return Promise.resolve(incoming).then((request) => (allBuffered(request) ? readBuffered(request, limit) : readStreamed(request, limit)));
}

/** Whether all of the request's body is in its buffer: Content-Length bytes of it, or the parser saw its end. */
function allBuffered(incoming: IncomingMessage): boolean {
  const length = incoming.headers['content-length'];
  return incoming.complete || (length !== undefined && incoming.readableLength === Number(length));
}

/** A body all in the request's buffer (allBuffered), or undefined past `limit` bytes. */
function readBuffered(incoming: IncomingMessage, limit: number): Uint8Array | undefined {
  if (incoming.readableLength > limit) return undefined;
  return (incoming.read() as Buffer | null) ?? Buffer.alloc(0);
}

/** The body from the stream's events, as it arrives. */
function readStreamed(incoming: IncomingMessage, limit: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const done = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
    };
    const onData = (part: Buffer) => {
      size += part.length;
      if (size > limit) {
        done();
        incoming.pause();
        resolve(undefined);
      } else parts.push(part);
    };
    const onEnd = () => {
      done();
      resolve(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts));
    };
    const onError = (err: Error) => {
      done();
      reject(err);
    };
    // 'close' before 'end': the client went away mid-body.
    const onClose = () => onError(new Error('aborted'));
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
  });
}

/** The same from a web Request (app.request in tests). */
async function readLimited(request: Request, limit: number): Promise<Uint8Array | undefined> {
  if (!request.body) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const part of request.body as unknown as AsyncIterable<Uint8Array>) {
    size += part.length;
    if (size > limit) return undefined;
    parts.push(part);
  }
  return Buffer.concat(parts);
}
