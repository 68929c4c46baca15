// The campaign routes through app.request(): cohort preview from a query and from a body,
// a draft created, read, listed and aborted, and the refusals of a draft that cannot run.
// Campaigns that run against devices are in test/campaigns/campaigns-api.test.ts; the
// 401/403 cases of every route are in security.test.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import { abortCampaignRoute, createCampaignRoute, getCampaignRoute, listCampaignsRoute, previewCohortBodyRoute, previewCohortRoute } from '../../src/api/routes/campaigns.ts';
import { createTestApi, declaredBody, errorOf, type TestApi } from '../support/api.ts';

let api: TestApi;
let buildId: string;
const asOperator = (path: string, json?: unknown) => api.request(path, { token: api.tokens.operator, ...(json === undefined ? {} : { method: 'POST', json }) });

beforeAll(async () => {
  api = await createTestApi();
  for (const [id, version] of [['CMP-1', '1.0'], ['CMP-2', '1.0'], ['CMP-3', '1.1']]) {
    expect((await asOperator('/api/v1/devices', { id, model: 'router-c', firmwareVersion: version, tags: ['lab'], credentials: { username: id, password: 'password-1' } })).status).toBe(201);
  }
  const upload = await api.request('/api/v1/builds?model=router-c&version=2.0', { method: 'POST', token: api.tokens.acme, body: 'image' });
  buildId = ((await upload.json()) as { id: string }).id;
});

const draft = async (name: string) => {
  const res = await asOperator('/api/v1/campaigns', { name, buildId, cohort: { tags: ['lab'] }, stages: [{ percent: 100 }] });
  expect(res.status).toBe(201);
  return ((await declaredBody(createCampaignRoute, res)) as { id: string }).id;
};

describe('cohort preview', () => {
  it('counts a cohort by firmware version, from a query and from a body alike', async () => {
    const fromQuery = await asOperator('/api/v1/cohorts/preview?model=router-c&tags=lab');
    expect(fromQuery.status).toBe(200);
    const expected = { devices: 3, byVersion: { '1.0': 2, '1.1': 1 }, inOtherCampaigns: [] };
    expect(await declaredBody(previewCohortRoute, fromQuery)).toEqual(expected);
    const fromBody = await asOperator('/api/v1/cohorts/preview', { model: 'router-c', tags: ['lab'] });
    expect(fromBody.status).toBe(200);
    expect(await declaredBody(previewCohortBodyRoute, fromBody)).toEqual(expected);
  });

  it('splits comma-separated query lists', async () => {
    const res = await asOperator('/api/v1/cohorts/preview?model=router-c&deviceIds=CMP-1,%20CMP-3');
    expect(await res.json()).toMatchObject({ devices: 2 });
  });
});

describe('campaigns', () => {
  it('creates a draft, shows it, lists it, and aborts it with a reason', async () => {
    const id = await draft('first');
    const read = await asOperator(`/api/v1/campaigns/${id}`);
    expect(read.status).toBe(200);
    expect(await declaredBody(getCampaignRoute, read)).toMatchObject({ id, state: 'draft', model: 'router-c', targetVersion: '2.0', cohort: { tags: ['lab'] } });
    const list = await asOperator('/api/v1/campaigns');
    expect(((await declaredBody(listCampaignsRoute, list)) as { items: Array<{ id: string }> }).items.map((c) => c.id)).toContain(id);
    const aborted = await asOperator(`/api/v1/campaigns/${id}/abort`, { reason: 'wrong build' });
    expect(aborted.status).toBe(200);
    expect(await declaredBody(abortCampaignRoute, aborted)).toMatchObject({ id, state: 'aborted', pausedReason: 'aborted by ops: wrong build' });
  });

  it.each([
    ['start', (_id: string) => `build ${buildId} is processing; start the campaign once its packages are ready`],
    ['pause', (id: string) => `campaign ${id} is draft; only a running campaign can be paused`],
  ])('refuses to %s a draft that cannot (409)', async (action, message) => {
    const id = await draft(`cannot ${action}`);
    const res = await api.request(`/api/v1/campaigns/${id}/${action}`, { method: 'POST', token: api.tokens.operator });
    expect(res.status).toBe(409);
    expect(await errorOf(res)).toEqual({ code: 'CONFLICT', message: message(id) });
  });

  it('answers 404 for an unknown campaign and an unknown build', async () => {
    expect(await errorOf(await asOperator('/api/v1/campaigns/cmp_nope'))).toEqual({ code: 'NOT_FOUND', message: 'no campaign cmp_nope' });
    const res = await asOperator('/api/v1/campaigns', { name: 'x', buildId: 'bld_nope', stages: [{ percent: 100 }] });
    expect(res.status).toBe(404);
  });
});
