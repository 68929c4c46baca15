// Mounts declared routes on one OpenAPIHono app: authorization from the declaration, then
// the declaration's validators, then the handler. Route modules get a `register` function
// so every route goes through the same door, and so the declarations can be listed
// without mounting anything (the role tests do).
import { OpenAPIHono, type RouteHandler } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { Context } from '../context.ts';
import type { AppEnv } from '../http/app-env.ts';
import { authorize } from './auth.ts';
import { validationError } from './http-errors.ts';
import type { ApiRoute } from './spec.ts';

/** A route's handler: the request typed by its declaration, and the context. */
export type Handler<R extends ApiRoute> = (c: Parameters<RouteHandler<R, AppEnv>>[0], ctx: Context) => ReturnType<RouteHandler<R, AppEnv>>;
export type Register = <R extends ApiRoute>(route: R, handler: Handler<R>) => void;
export type RouteModule = (register: Register) => void;

/** The management API's routes on their own app; server.ts mounts it and serves its document. */
export function createApi(ctx: Context, modules: RouteModule[]): OpenAPIHono<AppEnv> {
  // A request part that fails its schema becomes today's 400 VALIDATION error, thrown to
  // the app's one error handler like every other AppError.
  const api = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.target, result.error);
    },
  });
  api.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  const register: Register = (route, handler) => {
    const method = route.method.toUpperCase();
    const path = route.getRoutingPath();
    // Registered before openapi(), so Hono runs them before the validators it puts in
    // front of the handler: no input is read for a caller without the right token.
    api.on(method, path, authorize(ctx, route));
    if (route.request?.body && !route.request.body.required) api.on(method, path, emptyBodyIsNoBody);
    api.openapi(route, (c) => handler(c, ctx));
  };
  for (const module of modules) module(register);
  return api;
}

/**
 * An optional body may come empty under Content-Type: application/json (curl -H, some
 * HTTP libraries); the JSON validator would call that malformed, so it becomes no body.
 */
const emptyBodyIsNoBody: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.raw.body && (await c.req.text()).trim() === '') {
    const headers = new Headers(c.req.raw.headers);
    headers.delete('content-type');
    headers.delete('content-length');
    c.req.raw = new Request(c.req.raw.url, { method: c.req.raw.method, headers, signal: c.req.raw.signal });
  }
  return next();
};

/** The declarations alone, without mounting anything. */
export function declaredRoutes(modules: RouteModule[]): ApiRoute[] {
  const routes: ApiRoute[] = [];
  for (const module of modules) module((route) => routes.push(route));
  return routes;
}
