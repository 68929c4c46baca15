// Composes the HTTP application: request logging and metrics, the management API under
// /api/v1, OMA DM at /dm, downloads at /dl, the operator console at /, and the public
// /healthz, /metrics and OpenAPI document. A Node server takes `listener`: DM messages
// go straight to the DM endpoint, the rest to the Hono app.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { Hono } from 'hono';
import type { Context } from './context.ts';
import type { AppEnv } from './http/app-env.ts';
import { clientWentAway, errorAnswer, errorResponse } from './api/http-errors.ts';
import { createHealthCheck, mountHealth } from './health.ts';
import { createMetrics, METRICS_REFUSAL, scrapeAllowed } from './metrics.ts';
import { redactPath } from './http/redact.ts';
import { randomText } from './http/random-pool.ts';
import { answerDmFromNode, DM_PATH, type DmHttpAnswer, isDmRequest, mountDm } from './dm/routes.ts';
import { DmGuard } from './dm/session/guard.ts';
import { mountDownloads } from './download/routes.ts';
import { DOWNLOAD_ROUTE, downloadTokenOf } from './download/node.ts';
import { loggableActor } from './tokens/tokens.ts';

/** The app; `dmGuard` is the DM endpoint's in-memory state, shared with the server's sweep (start.ts). */
export async function createApp(ctx: Context, options: { dmGuard?: DmGuard } = {}): Promise<Hono<AppEnv>> {
  const http = createHttp(ctx, options);
  await http.management();
  return http.app;
}

export interface Http {
  app: Hono<AppEnv>;
  /** For a Node server: POST /dm answered from Node's request, the rest by `app`. */
  listener: RequestListener;
  /** Mounts the management API and the console on `app` (management.ts), once; the listener does it on the first request that needs `app`. */
  management: () => Promise<void>;
  /** Writes what finished downloads still owe the database (their bytes served, batched): for a graceful stop, after the last response. */
  settle: () => Promise<void>;
}

export function createHttp(ctx: Context, options: { dmGuard?: DmGuard } = {}): Http {
  const app = new Hono<AppEnv>();
  const dmGuard = options.dmGuard ?? new DmGuard(ctx.config.dm.auth);
  const metrics = createMetrics(ctx, dmGuard);
  const requestIdOf = requestIds();

  /** Metrics and the one log line of a request, whichever server answered it. */
  const answered = (r: { requestId: string; method: string; route: string; path: string; status: number; started: number; actor?: ReturnType<typeof loggableActor> | undefined }) => {
    const seconds = (performance.now() - r.started) / 1000;
    metrics.requests.inc({ method: r.method, route: r.route, status: String(r.status) });
    metrics.duration.observe({ method: r.method, route: r.route }, seconds);
    // One line per request; no headers, and the path redacted (a download link is a
    // credential, in whatever spelling it came), so tokens never reach the log. A DM
    // message answered normally is routine (a fleet sends thousands a second): debug;
    // a refused one stays at info.
    const level = r.route === DM_PATH && r.status < 400 ? 'debug' : 'info';
    if (ctx.log.isLevelEnabled(level)) ctx.log[level]({ requestId: r.requestId, method: r.method, path: loggablePath(r.path), status: r.status, ms: Math.round(seconds * 1000), ...(r.actor ? { actor: r.actor } : {}) }, 'request');
  };

  app.use(async (c, next) => {
    const requestId = requestIdOf(c.req.header('x-request-id'));
    c.set('requestId', requestId);
    c.header('x-request-id', requestId);
    const started = performance.now();
    await next();
    const who = c.get('principal');
    answered({ requestId, method: c.req.method, route: c.req.routePath || 'unmatched', path: c.req.path, status: c.res.status, started, actor: who ? loggableActor(who) : undefined });
  });

  app.onError((err, c) => errorResponse(c, err, ctx.log.child({ requestId: c.get('requestId') })));
  app.notFound((c) => c.json({ error: { code: 'NOT_FOUND', message: `no route ${c.req.method} ${loggablePath(c.req.path)}` } }, 404));

  mountDm(app, ctx, dmGuard);
  const downloadFromNode = mountDownloads(app, ctx);
  // The API and the console load with the first request for them (management.ts); their
  // paths (/api/v1, console pages) overlap none of those mounted here.
  let mounted: Promise<void> | undefined;
  const management = () => (mounted ??= import('./management.ts').then((m) => m.mountManagement(app, ctx)));
  mountHealth(app, createHealthCheck(ctx, 'server'));
  app.get('/metrics', async (c) => {
    if (!scrapeAllowed(ctx.config.metricsToken, c.req.header('authorization'))) return c.json(METRICS_REFUSAL, 401, { 'www-authenticate': 'Bearer' });
    return c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType });
  });

  /** POST /dm on Node's request: what the route and the middleware above do, without a web Request. */
  const serveDm = async (incoming: IncomingMessage, outgoing: ServerResponse) => {
    const started = performance.now();
    const given = incoming.headers['x-request-id'];
    const requestId = requestIdOf(Array.isArray(given) ? given.join(', ') : given);
    let answer: DmHttpAnswer;
    try {
      answer = await answerDmFromNode(ctx, dmGuard, incoming);
    } catch (err) {
      const log = ctx.log.child({ requestId });
      if (incoming.readableAborted || incoming.socket.destroyed) answer = { status: clientWentAway(err, log), headers: {}, body: '' };
      else {
        const { status, body } = errorAnswer(err, log);
        // The body may not have been read to its end: the connection cannot carry another request.
        answer = { status, headers: { 'content-type': 'application/json', connection: 'close' }, body: JSON.stringify(body) };
      }
    }
    const body = typeof answer.body === 'string' ? Buffer.from(answer.body) : answer.body;
    if (!outgoing.destroyed) outgoing.writeHead(answer.status, dmHeaders(answer.headers, requestId, body.length)).end(body);
    answered({ requestId, method: 'POST', route: DM_PATH, path: DM_PATH, status: answer.status, started });
  };
  /** GET|HEAD /dl/<token> on Node's request (download/node.ts): what the route and the middleware above do, without the fetch classes. */
  const serveDownload = async (token: string, incoming: IncomingMessage, outgoing: ServerResponse) => {
    const started = performance.now();
    const given = incoming.headers['x-request-id'];
    const requestId = requestIdOf(Array.isArray(given) ? given.join(', ') : given);
    let status: number;
    try {
      status = await downloadFromNode(token, incoming, outgoing, requestId);
    } catch (err) {
      const answer = errorAnswer(err, ctx.log.child({ requestId }));
      status = answer.status;
      const body = Buffer.from(JSON.stringify(answer.body));
      if (!outgoing.destroyed) outgoing.writeHead(status, { 'content-type': 'application/json', 'content-length': String(body.length), 'x-request-id': requestId }).end(body);
    }
    answered({ requestId, method: incoming.method ?? 'GET', route: DOWNLOAD_ROUTE, path: (incoming.url ?? DOWNLOAD_ROUTE).split(/[?#]/, 1)[0] ?? DOWNLOAD_ROUTE, status, started });
  };
  // The Hono app's Node adapter loads with the first request that is not a DM message:
  // it takes the platform's fetch classes (Headers, Request, Response), whose first use
  // costs some 13 MiB a server that only answers devices never needs.
  let honoListener: Promise<RequestListener> | undefined;
  const listener: RequestListener = (incoming, outgoing) => {
    if (isDmRequest(incoming)) {
      void serveDm(incoming, outgoing);
      return;
    }
    const downloadToken = downloadTokenOf(incoming);
    if (downloadToken !== undefined) {
      void serveDownload(downloadToken, incoming, outgoing);
      return;
    }
    honoListener ??= management().then(() => nodeAdapter(app));
    honoListener.then(
      (answer) => answer(incoming, outgoing),
      (err: unknown) => {
        // Not an unanswered request: a 500, and the error in the log.
        const { status, body } = errorAnswer(err, ctx.log);
        if (!outgoing.headersSent) outgoing.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
        outgoing.end(JSON.stringify(body));
      },
    );
  };
  return { app, listener, management, settle: () => downloadFromNode.settle() };
}

/**
 * A DM answer's headers as Node's flat list (name, value, ...), which writeHead takes as
 * it takes an object: no object is spread per message to add ours.
 */
function dmHeaders(headers: Record<string, string>, requestId: string, length: number): string[] {
  const list: string[] = [];
  for (const name in headers) if (name !== 'x-request-id' && name !== 'content-length') list.push(name, headers[name] as string);
  list.push('x-request-id', requestId, 'content-length', String(length));
  return list;
}

/**
 * The client's request id if it is a sane one, else a new one: 16 hex digits, from the
 * pool of random bytes (http/random-pool.ts).
 */
function requestIds(): (given: string | undefined) => string {
  return (given) => (given && /^[\w.-]{1,64}$/.test(given) ? given : randomText(8, 'hex'));
}

/**
 * @hono/node-server's listener for the app. Its utils/response module loads first, while
 * the platform's Response is still the global one: the downloads' "already sent" marker
 * must be built by that class (download/routes.ts), and the adapter replaces the global.
 */
async function nodeAdapter(app: Hono<AppEnv>): Promise<RequestListener> {
  await import('@hono/node-server/utils/response');
  const { getRequestListener } = await import('@hono/node-server');
  return getRequestListener(app.fetch);
}


/** Paths are the client's choice: tokens hidden, and cut short, so a 16 KB path is not a 16 KB log line. */
const MAX_SHOWN_PATH = 512;
function loggablePath(path: string): string {
  const shown = redactPath(path);
  return shown.length > MAX_SHOWN_PATH ? `${shown.slice(0, MAX_SHOWN_PATH)}... (${shown.length} characters)` : shown;
}
