// Mounts declared routes: authorization from the declaration, then the handler. Route
// modules get a `register` function so every route goes through the same door.
import type { Context as HonoContext, Hono } from 'hono';
import type { Context } from '../context.ts';
import type { AppEnv } from '../http/app-env.ts';
import { authorize } from './auth.ts';
import type { RouteSpec } from './spec.ts';

export type Handler = (c: HonoContext<AppEnv>, ctx: Context) => Response | Promise<Response>;
export type Register = (spec: RouteSpec, handler: Handler) => void;
export type RouteModule = (register: Register) => void;

export function mountRoutes(app: Hono<AppEnv>, ctx: Context, modules: RouteModule[]): RouteSpec[] {
  const mounted: RouteSpec[] = [];
  for (const module of modules) {
    module((spec, handler) => {
      mounted.push(spec);
      app.on(spec.method.toUpperCase(), spec.path, authorize(ctx, spec), (c) => handler(c, ctx));
    });
  }
  return mounted;
}
