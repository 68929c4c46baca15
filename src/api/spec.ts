// Every management API route is declared once here-style: method, path, roles, and the
// zod schemas that validate its input. The router enforces the roles from the declaration
// and the OpenAPI document is generated from the same declarations, so the two cannot drift.
import type { z } from 'zod';
import type { Role } from '../tokens/tokens.ts';

export interface RouteSpec {
  method: 'get' | 'post';
  /** Hono path syntax (`/api/v1/builds/:id`). */
  path: string;
  /** Roles allowed; `public` needs no token at all. */
  roles: readonly Role[] | 'public';
  summary: string;
  query?: z.ZodObject;
  /** A JSON body schema, or `binary` for a streamed raw body. */
  body?: z.ZodType | 'binary';
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
}

export const ANY_ROLE: readonly Role[] = ['admin', 'manufacturer', 'operator'];

export function defineRoute<T extends RouteSpec>(spec: T): T {
  return spec;
}
