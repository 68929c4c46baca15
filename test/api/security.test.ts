// Every declared route refuses a missing or unknown token (401) and every role it is not
// meant for (403), before it looks at anything else.
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { declaredRoutes, itRefusesTheWrongCaller } from '../support/api-auth.ts';
import { selectRows } from '../support/sql.ts';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi();
});

const guarded = declaredRoutes();

describe('management API security', () => {
  it('declares roles for every route', () => {
    expect(guarded.length).toBeGreaterThanOrEqual(7);
    for (const route of guarded) expect(route.roles.length, route.name).toBeGreaterThan(0);
  });

  it('leaves every campaign and cohort route to operators alone (separation of duties)', () => {
    const campaignRoutes = guarded.filter((s) => /^\/api\/v1\/(campaigns|cohorts)/.test(s.path));
    expect(campaignRoutes.map((s) => `${s.method} ${s.path}`).sort()).toEqual(
      ['start', 'approve', 'pause', 'resume', 'abort', 'force', 'install', 'rollback', 'bandwidth'].map((a) => `post /api/v1/campaigns/:id/${a}`).concat(['get /api/v1/campaigns', 'get /api/v1/campaigns/:id', 'get /api/v1/cohorts/preview', 'post /api/v1/cohorts/preview', 'post /api/v1/campaigns']).sort(),
    );
    for (const spec of campaignRoutes) expect(spec.roles).toEqual(['operator']);
  });

  itRefusesTheWrongCaller(() => api, guarded);

  it('serves health, metrics and the OpenAPI document without a token, and never the admin token', async () => {
    expect((await api.request('/healthz')).status).toBe(200);
    const metrics = await (await api.request('/metrics')).text();
    expect(metrics).toContain('fota_package_jobs');
    expect(metrics).toContain('fota_http_requests_total');
    const doc = (await (await api.request('/api/v1/openapi.json')).json()) as { paths: Record<string, Record<string, { description?: string }>> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/builds', '/api/v1/builds/{id}', '/api/v1/manufacturers/{name}/keys', '/api/v1/tokens']));
    expect(doc.paths['/api/v1/builds']?.post?.description).toBe('Roles: manufacturer');
    expect(JSON.stringify(doc) + metrics).not.toContain(api.tokens.admin);
  });

  it('stores tokens only as hashes', async () => {
    const rows = await selectRows(api.ctx.db, 'select token_hash from tokens') as Array<{ token_hash: string }>;
    const dump = JSON.stringify(rows);
    for (const token of Object.values(api.tokens)) expect(dump).not.toContain(token);
  });
});
