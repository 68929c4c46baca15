// Every management API route is declared once, with @hono/zod-openapi's createRoute: its
// method, path, the roles that may call it, and the zod schemas of its params, query, body
// and answers. The same declaration validates the request, types the handler and writes
// the OpenAPI document, and the authorization reads the roles from it, so none of these
// can drift from the others.
import { createRoute, type RouteConfig } from '@hono/zod-openapi';
import { z } from 'zod';
import type { Role } from '../tokens/tokens.ts';
import { errorBodySchema } from './http-errors.ts';

export const ANY_ROLE: readonly Role[] = ['admin', 'manufacturer', 'operator'];

/** What a route module declares: a route without the parts defineRoute writes itself. */
type Declaration<P extends string> = Omit<RouteConfig, 'path' | 'description' | 'security' | 'middleware' | 'hide'> & {
  path: P;
  summary: string;
  /** Who may call the route; every route needs a token. */
  roles: readonly Role[];
};

/** What authorization reads from a declared route (its roles travel as the `x-roles` extension). */
export interface Guarded {
  method: string;
  'x-roles': readonly Role[];
  getRoutingPath(): string;
}

/** Every declared route answers these before it looks at its input. */
const authRefusals = {
  401: { description: 'missing or unknown token', content: { 'application/json': { schema: errorBodySchema } } },
  403: { description: "the token's role may not do this", content: { 'application/json': { schema: errorBodySchema } } },
};

/** What a route with a query or a body answers when it fails its schema (string path params cannot). */
const inputRefusals = {
  400: { description: 'invalid input; the message says "<where>: <field> <problem>", where is query or body', content: { 'application/json': { schema: errorBodySchema } } },
};
const jsonRefusals = {
  ...inputRefusals,
  415: { description: 'a body that is not sent as application/json', content: { 'application/json': { schema: errorBodySchema } } },
};

/**
 * A route with its roles. The roles are written into the document twice: as `x-roles`,
 * which tools and the authorization read, and as the description a person reads.
 */
export function defineRoute<const P extends string, const D extends Declaration<P>>(declaration: D) {
  const { roles, ...route } = declaration;
  return createRoute({
    ...route,
    description: `Roles: ${roles.join(', ')}`,
    'x-roles': roles,
    responses: { ...authRefusals, ...(route.request?.body?.content['application/json'] ? jsonRefusals : route.request?.query || route.request?.body ? inputRefusals : {}), ...route.responses },
  });
}

/** A declared route, as the router mounts it. */
export type ApiRoute = RouteConfig & Guarded;

/** A JSON answer with its schema. */
export function answer<T extends z.ZodType>(description: string, schema: T) {
  return { description, content: { 'application/json': { schema } } };
}

/** An error answer: {"error": {code, message}}. */
export function refusal(description: string) {
  return answer(description, errorBodySchema);
}

/**
 * A JSON request body, sent under Content-Type: application/json. An optional one may be
 * left out or sent empty (router.ts), and is then `{}`.
 */
export function jsonBody<T extends z.ZodType>(schema: T, options: { required: boolean } = { required: true }) {
  return { required: options.required, content: { 'application/json': { schema } } };
}

/** Path parameters as strings: the domain looks them up and answers 404 for an unknown one. */
export function pathParams<const N extends string>(...names: N[]) {
  return z.object(Object.fromEntries(names.map((name) => [name, z.string()])) as Record<N, z.ZodString>);
}
