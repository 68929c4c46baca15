// The deployment routes through app.request(): their refusals. A deployment that goes
// through is followed end to end in test/e2e/fumo.test.ts (it needs a ready build, which
// needs the package jobs this timer-free context does not run). The 401/403 cases of
// every route are in security.test.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, errorOf, type TestApi } from '../support/api.ts';

let api: TestApi;
let processing: string;
beforeAll(async () => {
  api = await createTestApi();
  const device = { id: 'DEP-1', model: 'router-d', firmwareVersion: '1.0', credentials: { username: 'DEP-1', password: 'password-1' } };
  expect((await api.request('/api/v1/devices', { method: 'POST', token: api.tokens.operator, json: device })).status).toBe(201);
  const upload = await api.request('/api/v1/builds?model=router-d&version=2.0', { method: 'POST', token: api.tokens.acme, body: 'image' });
  processing = ((await upload.json()) as { id: string }).id;
});

const deploy = (json: unknown) => api.request('/api/v1/deployments', { method: 'POST', token: api.tokens.operator, json });

describe('deployments', () => {
  it('refuses a build whose packages are not made yet (409)', async () => {
    const res = await deploy({ deviceId: 'DEP-1', buildId: processing });
    expect(res.status).toBe(409);
    expect(await errorOf(res)).toEqual({ code: 'CONFLICT', message: `build ${processing} is processing; deploy it once it is ready` });
  });

  it('refuses an unknown device (404) and an unknown deployment (404)', async () => {
    const res = await deploy({ deviceId: 'nobody', buildId: processing });
    expect(res.status).toBe(404);
    expect(await errorOf(res)).toEqual({ code: 'NOT_FOUND', message: 'no device nobody' });
    const read = await api.request('/api/v1/deployments/dep_nope', { token: api.tokens.operator });
    expect(read.status).toBe(404);
    expect(await errorOf(read)).toEqual({ code: 'NOT_FOUND', message: 'no deployment dep_nope' });
  });

  it('refuses an unknown mode (400)', async () => {
    const res = await deploy({ deviceId: 'DEP-1', buildId: processing, mode: 'now' });
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toEqual({ code: 'VALIDATION', message: 'body: mode Invalid option: expected one of "downloadAndUpdate"|"twoStep"' });
  });
});
