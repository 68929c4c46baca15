// GET /api/v1/openapi.json, generated from the route declarations and their zod schemas
// (the ones that validate requests), so the document always says what the server does.
import { z } from 'zod';
import type { RouteSpec } from './spec.ts';

const toJson = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });

export function openApiDocument(specs: RouteSpec[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of specs) {
    const path = spec.path.replace(/:(\w+)/g, '{$1}');
    const parameters = [
      ...[...spec.path.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } })),
      ...Object.entries(spec.query?.shape ?? {}).map(([name, schema]) => ({
        name,
        in: 'query',
        required: !(schema as z.ZodType).safeParse(undefined).success,
        schema: toJson(schema as z.ZodType),
      })),
    ];
    const requestBody =
      spec.body === 'binary'
        ? { required: true, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } }
        : spec.body
          ? { required: true, content: { 'application/json': { schema: toJson(spec.body) } } }
          : undefined;
    const responses = Object.fromEntries(
      Object.entries(spec.responses).map(([status, r]) => [
        status,
        { description: r.description, ...(r.schema || r.contentType ? { content: { [r.contentType ?? 'application/json']: { schema: r.schema ? toJson(r.schema) : { type: 'string', format: 'binary' } } } } : {}) },
      ]),
    );
    paths[path] ??= {};
    paths[path][spec.method] = {
      summary: spec.summary,
      ...(spec.roles === 'public' ? { security: [] } : { description: `Roles: ${spec.roles.join(', ')}` }),
      ...(parameters.length ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses: { ...responses, ...(spec.roles === 'public' ? {} : { 401: { description: 'missing or unknown token' }, 403: { description: 'the token\'s role may not do this' } }) },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'fota management API', version: '1' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
