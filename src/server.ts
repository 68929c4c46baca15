// Composes the HTTP application: request logging and metrics, the management API under
// /api/v1, OMA DM at /dm, downloads at /dl, the operator console at /, and the public
// /healthz, /metrics and OpenAPI document.
import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Context } from './context.ts';
import { AppError } from './errors.ts';
import type { AppEnv } from './http/app-env.ts';
import { errorResponse } from './api/http-errors.ts';
import { createHealthCheck, mountHealth } from './health.ts';
import { createMetrics, METRICS_REFUSAL, scrapeAllowed } from './metrics.ts';
import { openApiDocument } from './api/openapi.ts';
import { redactPath } from './http/redact.ts';
import { createApi } from './api/router.ts';
import { uploadRoute } from './api/routes/builds.ts';
import { routeModules } from './api/routes/index.ts';
import { mountDm } from './dm/routes.ts';
import { DmGuard } from './dm/session/guard.ts';
import { mountDownloads } from './download/routes.ts';
import { mountConsole } from './web/routes.tsx';
import { loggableActor } from './tokens/tokens.ts';

// A cohort of 10,000 explicit device ids (up to 128 characters each) is the largest body.
const JSON_BODY_LIMIT = 2 * 1024 * 1024;

/** The app; `dmGuard` is the DM endpoint's in-memory state, shared with the server's sweep (start.ts). */
export function createApp(ctx: Context, options: { dmGuard?: DmGuard } = {}): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const dmGuard = options.dmGuard ?? new DmGuard(ctx.config.dm.auth);
  const metrics = createMetrics(ctx, dmGuard);

  app.use(async (c, next) => {
    const given = c.req.header('x-request-id');
    const requestId = given && /^[\w.-]{1,64}$/.test(given) ? given : randomBytes(8).toString('hex');
    c.set('requestId', requestId);
    c.header('x-request-id', requestId);
    const started = performance.now();
    await next();
    const route = c.req.routePath || 'unmatched';
    const seconds = (performance.now() - started) / 1000;
    metrics.requests.inc({ method: c.req.method, route, status: String(c.res.status) });
    metrics.duration.observe({ method: c.req.method, route }, seconds);
    // One line per request; no headers, and the path redacted (a download link is a
    // credential, in whatever spelling it came), so tokens never reach the log. A DM
    // message answered normally is routine (a fleet sends thousands a second): debug;
    // a refused one stays at info.
    const level = route === '/dm' && c.res.status < 400 ? 'debug' : 'info';
    if (ctx.log.isLevelEnabled(level)) {
      const principal = c.get('principal');
      ctx.log[level]({ requestId, method: c.req.method, path: loggablePath(c.req.path), status: c.res.status, ms: Math.round(seconds * 1000), ...(principal ? { actor: loggableActor(principal) } : {}) }, 'request');
    }
  });
  app.onError((err, c) => errorResponse(c, err, ctx.log.child({ requestId: c.get('requestId') })));
  app.notFound((c) => c.json({ error: { code: 'NOT_FOUND', message: `no route ${c.req.method} ${loggablePath(c.req.path)}` } }, 404));

  // JSON bodies are small; only the build upload streams a large one (its own limit).
  app.use('/api/v1/*', async (c, next) => {
    if (c.req.path === uploadRoute.path) return next();
    return bodyLimit({ maxSize: JSON_BODY_LIMIT, onError: () => { throw new AppError('TOO_LARGE', `request bodies are limited to ${JSON_BODY_LIMIT} bytes`); } })(c, next);
  });

  const api = createApi(ctx, routeModules);
  app.route('/', api);
  mountDm(app, ctx, dmGuard);
  mountDownloads(app, ctx);
  mountConsole(app, ctx);
  // Written on first request, then kept: building it allocates several MiB that would
  // otherwise swell every server's memory at start for a document few clients fetch.
  let openapi: ReturnType<typeof openApiDocument> | undefined;
  app.get('/api/v1/openapi.json', (c) => c.json((openapi ??= openApiDocument(api))));
  mountHealth(app, createHealthCheck(ctx, 'server'));
  app.get('/metrics', async (c) => {
    if (!scrapeAllowed(ctx.config.metricsToken, c.req.header('authorization'))) return c.json(METRICS_REFUSAL, 401, { 'www-authenticate': 'Bearer' });
    return c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType });
  });
  return app;
}

/** Paths are the client's choice: tokens hidden, and cut short, so a 16 KB path is not a 16 KB log line. */
const MAX_SHOWN_PATH = 512;
function loggablePath(path: string): string {
  const shown = redactPath(path);
  return shown.length > MAX_SHOWN_PATH ? `${shown.slice(0, MAX_SHOWN_PATH)}... (${shown.length} characters)` : shown;
}
