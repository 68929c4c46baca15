// GET /api/v1/openapi.json is a valid OpenAPI 3.1 document, written from the same route
// declarations the server mounts: every declared route is in it, with the roles that may
// call it, and nothing else is.
import { Validator } from '@seriousme/openapi-schema-validator';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROLES } from '../../src/tokens/tokens.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { declaredRoutes } from '../support/api-auth.ts';

interface Operation {
  description?: string;
  'x-roles'?: unknown;
  parameters?: Array<{ name: string; in: string }>;
  requestBody?: { content: Record<string, unknown> };
  responses: Record<string, { description: string }>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
}

let api: TestApi;
let raw: Record<string, unknown>;
let doc: Document;
beforeAll(async () => {
  api = await createTestApi();
  const res = await api.request('/api/v1/openapi.json');
  expect(res.status).toBe(200);
  raw = (await res.json()) as Record<string, unknown>;
  doc = raw as unknown as Document;
});

const operations = () => Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, path, op })));

describe('the OpenAPI document', () => {
  it('validates as OpenAPI 3.1 against the official schema, with no errors', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(raw));
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(doc.openapi).toBe('3.1.0');
  });

  it('would be refused with a field OpenAPI does not define (the check is strict, not a formality)', async () => {
    const stray = structuredClone(raw) as unknown as Document;
    const upload = stray.paths['/api/v1/builds']?.post;
    expect(upload).toBeDefined();
    Object.assign(upload ?? {}, { roles: ['manufacturer'] });
    expect((await new Validator().validate(stray as unknown as Record<string, unknown>)).valid).toBe(false);
  });

  it('lists exactly the declared routes', () => {
    const declared = declaredRoutes().map((r) => `${r.method.toUpperCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
    expect(operations().map((o) => o.name).sort()).toEqual(declared.sort());
  });

  it('names the roles of every route, as x-roles and in its description, as declared', () => {
    const rolesOf = new Map(declaredRoutes().map((r) => [`${r.method.toUpperCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`, r.roles]));
    for (const { name, op } of operations()) {
      const roles = rolesOf.get(name) ?? [];
      expect(roles.length, name).toBeGreaterThan(0);
      for (const role of roles) expect(ROLES).toContain(role);
      expect(op['x-roles'], name).toEqual(roles);
      expect(op.description, name).toBe(`Roles: ${roles.join(', ')}`);
      expect(Object.keys(op.responses), name).toEqual(expect.arrayContaining(['401', '403']));
    }
  });

  it('declares every path parameter of every route', () => {
    for (const { name, path, op } of operations()) {
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      expect((op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name).sort(), name).toEqual(inPath.sort());
    }
  });

  it('lists builds, packages, devices, deployments, campaigns and the audit log with limit and cursor', () => {
    for (const path of ['/api/v1/builds', '/api/v1/packages', '/api/v1/devices', '/api/v1/deployments', '/api/v1/campaigns', '/api/v1/audit']) {
      const query = (doc.paths[path]?.get?.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      expect(query, path).toEqual(expect.arrayContaining(['limit', 'cursor']));
      expect(Object.keys(doc.paths[path]?.get?.responses ?? {}), path).toEqual(expect.arrayContaining(['200', '400']));
    }
    expect(doc.paths['/api/v1/devices']?.get?.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(['model', 'version', 'tag', 'lastSeenBefore', 'campaign']));
    expect(doc.paths['/api/v1/deployments']?.get?.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(['campaign', 'stage', 'state', 'resultCode']));
    expect(doc.paths['/api/v1/audit']?.get?.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(['subject', 'actor', 'action']));
  });

  it('describes the build upload as a raw body, and JSON bodies as JSON', () => {
    expect(Object.keys(doc.paths['/api/v1/builds']?.post?.requestBody?.content ?? {})).toEqual(['application/octet-stream']);
    expect(doc.paths['/api/v1/builds']?.post?.parameters?.map((p) => `${p.in}:${p.name}`)).toEqual(['query:model', 'query:version', 'query:securityVersion', 'header:fota-target-statement']);
    expect(Object.keys(doc.paths['/api/v1/campaigns']?.post?.requestBody?.content ?? {})).toEqual(['application/json']);
  });
});
