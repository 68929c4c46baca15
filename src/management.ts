// The operator's side of the HTTP app: the management API under /api/v1 with its OpenAPI
// document, and the console at /. Loaded by server.ts with the first request that is not
// a DM message nor a download (and at once by createApp): their route declarations, zod
// schemas and pages are some 6 MiB a server that only answers devices never needs, and
// the server's memory at start is a goal (bench:startup, README).
import type { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Context } from './context.ts';
import { AppError } from './errors.ts';
import type { AppEnv } from './http/app-env.ts';
import { openApiDocument } from './api/openapi.ts';
import { createApi } from './api/router.ts';
import { uploadRoute } from './api/routes/builds.ts';
import { routeModules } from './api/routes/index.ts';
import { mountConsole } from './web/routes.tsx';

// A cohort of 10,000 explicit device ids (up to 128 characters each) is the largest body.
const JSON_BODY_LIMIT = 2 * 1024 * 1024;

export function mountManagement(app: Hono<AppEnv>, ctx: Context): void {
  // JSON bodies are small; only the build upload streams a large one (its own limit).
  app.use('/api/v1/*', async (c, next) => {
    if (c.req.path === uploadRoute.path) return next();
    return bodyLimit({ maxSize: JSON_BODY_LIMIT, onError: () => { throw new AppError('TOO_LARGE', `request bodies are limited to ${JSON_BODY_LIMIT} bytes`); } })(c, next);
  });

  const api = createApi(ctx, routeModules);
  app.route('/', api);
  mountConsole(app, ctx);
  // Written on first request, then kept: building it allocates several MiB that would
  // otherwise swell every server's memory at start for a document few clients fetch.
  let openapi: ReturnType<typeof openApiDocument> | undefined;
  app.get('/api/v1/openapi.json', (c) => c.json((openapi ??= openApiDocument(api))));
}
