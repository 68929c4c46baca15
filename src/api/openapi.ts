// GET /api/v1/openapi.json: OpenAPI 3.1, written by @hono/zod-openapi from the route
// declarations and their zod schemas (the ones that validate requests), so the document
// always says what the server does.
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../http/app-env.ts';

export function openApiDocument(api: OpenAPIHono<AppEnv>): ReturnType<OpenAPIHono['getOpenAPI31Document']> {
  return api.getOpenAPI31Document({
    openapi: '3.1.0',
    info: { title: 'fota management API', version: '1' },
    security: [{ bearer: [] }],
  });
}
