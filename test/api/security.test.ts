// Every declared route refuses a missing or unknown token (401) and every role it is not
// meant for (403), before it looks at anything else.
import { beforeAll, describe, expect, it } from 'vitest';
import { routeSpecs } from '../../src/api/routes/index.ts';
import { ROLES } from '../../src/tokens/tokens.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});

const guarded = routeSpecs().filter((s) => s.roles !== 'public');
const call = (spec: (typeof guarded)[number], token?: string) =>
  server.api(spec.path.replace(/:(\w+)/g, 'x'), { method: spec.method.toUpperCase(), token, ...(spec.method === 'post' ? { body: '{}', headers: { 'content-type': 'application/json' } } : {}) });

describe('management API security', () => {
  it('declares roles for every route', () => {
    expect(guarded.length).toBeGreaterThanOrEqual(7);
  });

  it('leaves every campaign and cohort route to operators alone (separation of duties)', () => {
    const campaignRoutes = guarded.filter((s) => /^\/api\/v1\/(campaigns|cohorts)/.test(s.path));
    expect(campaignRoutes.map((s) => `${s.method} ${s.path}`).sort()).toEqual(
      ['start', 'approve', 'pause', 'resume', 'abort'].map((a) => `post /api/v1/campaigns/:id/${a}`).concat(['get /api/v1/campaigns', 'get /api/v1/campaigns/:id', 'get /api/v1/cohorts/preview', 'post /api/v1/cohorts/preview', 'post /api/v1/campaigns']).sort(),
    );
    for (const spec of campaignRoutes) expect(spec.roles).toEqual(['operator']);
  });

  it.each(guarded.map((s) => [`${s.method.toUpperCase()} ${s.path}`, s] as const))('%s refuses a missing token and an unknown one (401)', async (_name, spec) => {
    for (const token of [undefined, 'fota_not-a-real-token']) {
      const res = await call(spec, token);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    }
  });

  const forbidden = guarded.flatMap((spec) => ROLES.filter((role) => spec.roles !== 'public' && !spec.roles.includes(role)).map((role) => [`${spec.method.toUpperCase()} ${spec.path}`, role, spec] as const));
  it.each(forbidden)('%s refuses the %s role (403)', async (_name, role, spec) => {
    const token = { admin: server.tokens.admin, manufacturer: server.tokens.acme, operator: server.tokens.operator }[role];
    const res = await call(spec, token);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: 'FORBIDDEN', message: expect.stringContaining(`this token is ${role}`) } });
  });

  it('serves health, metrics and the OpenAPI document without a token, and never the admin token', async () => {
    expect((await server.api('/healthz')).status).toBe(200);
    const metrics = await (await server.api('/metrics')).text();
    expect(metrics).toContain('fota_package_jobs');
    expect(metrics).toContain('fota_http_requests_total');
    const doc = (await (await server.api('/api/v1/openapi.json')).json()) as { paths: Record<string, Record<string, { description?: string }>> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/builds', '/api/v1/builds/{id}', '/api/v1/manufacturers/{name}/keys', '/api/v1/tokens']));
    expect(doc.paths['/api/v1/builds']?.post?.description).toBe('Roles: manufacturer');
    expect(JSON.stringify(doc) + metrics).not.toContain(server.tokens.admin);
  });

  it('stores tokens only as hashes', async () => {
    const rows = server.ctx.db.$client.prepare('select token_hash from tokens').all() as Array<{ token_hash: string }>;
    const dump = JSON.stringify(rows);
    for (const token of Object.values(server.tokens)) expect(dump).not.toContain(token);
  });
});
