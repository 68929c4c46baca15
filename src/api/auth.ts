// Bearer-token authentication and role checks. The roles come from each route's
// declaration; a manufacturer token is further limited to its own manufacturer's things.
import type { MiddlewareHandler } from 'hono';
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { authenticate, type Principal } from '../tokens/tokens.ts';
import type { AppEnv } from '../http/app-env.ts';
import type { Guarded } from './spec.ts';

/** Runs before the route's validators, so a caller without the right token learns nothing about the input a route wants. */
export function authorize(ctx: Context, route: Guarded): MiddlewareHandler<AppEnv> {
  const roles = route['x-roles'];
  const name = `${route.method.toUpperCase()} ${route.getRoutingPath()}`;
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) throw new AppError('UNAUTHORIZED', 'missing bearer token: send Authorization: Bearer <token>');
    const principal = await authenticate(ctx, match[1]);
    if (!principal) throw new AppError('UNAUTHORIZED', 'unknown or revoked token');
    if (!roles.includes(principal.role)) {
      throw new AppError('FORBIDDEN', `${name} is for ${roles.join(' or ')}; this token is ${principal.role}`);
    }
    c.set('principal', principal);
    return next();
  };
}

/** A manufacturer token may only touch its own manufacturer's builds, packages and keys. */
export function assertOwnManufacturer(principal: Principal, manufacturerId: string): void {
  if (principal.role === 'manufacturer' && principal.manufacturerId !== manufacturerId) {
    throw new AppError('FORBIDDEN', 'this belongs to another manufacturer');
  }
}

/** The same rule by name, for routes that name the manufacturer in their path (its keys). */
export function assertActsFor(principal: Principal, name: string): void {
  if (principal.role === 'manufacturer' && principal.manufacturer !== name) throw new AppError('FORBIDDEN', `this token acts for ${principal.manufacturer}, not ${name}`);
}
