// POST /api/v1/tokens through app.request(): what an admin gets and what is refused. The
// 401/403 cases of every route are in security.test.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import { createTokenRoute } from '../../src/api/routes/tokens.ts';
import { createTestApi, declaredBody, errorOf, type TestApi } from '../support/api.ts';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi();
});

const create = (json: unknown) => api.request('/api/v1/tokens', { method: 'POST', token: api.tokens.admin, json });

describe('POST /api/v1/tokens', () => {
  it('creates an operator token that works at once', async () => {
    const res = await create({ role: 'operator', name: 'night shift' });
    expect(res.status).toBe(201);
    const { token } = (await declaredBody(createTokenRoute, res)) as { token: string };
    expect((await api.request('/api/v1/campaigns', { token })).status).toBe(200);
  });

  it('creates a manufacturer token and, with it, the manufacturer it acts for', async () => {
    const res = await create({ role: 'manufacturer', name: 'initech ci', manufacturer: 'initech' });
    expect(res.status).toBe(201);
    const { token } = (await declaredBody(createTokenRoute, res)) as { token: string };
    const keys = await api.request('/api/v1/manufacturers/initech/keys', { token });
    expect(keys.status).toBe(200);
    expect(await keys.json()).toEqual([]);
  });

  it.each([
    ['a manufacturer token without its manufacturer', { role: 'manufacturer', name: 'x' }, 'a manufacturer token needs the manufacturer it acts for (manufacturer)'],
    ['an operator token scoped to a manufacturer', { role: 'operator', name: 'x', manufacturer: 'initech' }, 'an operator token is not scoped to a manufacturer; leave manufacturer out'],
    ['a manufacturer name with path tricks', { role: 'manufacturer', name: 'x', manufacturer: '../etc' }, 'body: manufacturer must be 1-128 letters, digits, ".", "_", "+" or "-", starting with a letter or digit'],
    ['a token without a name', { role: 'operator' }, 'body: name Invalid input: expected string, received undefined'],
  ])('refuses %s (400)', async (_name, json, message) => {
    const res = await create(json);
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toEqual({ code: 'VALIDATION', message });
  });
});
