// Input the route declarations refuse, in the API's one error shape: 400 VALIDATION with
// "<where>: <field> <problem>" for the body, the query and nested fields; a body that is
// not JSON; a body sent as another media type (415); and the build upload, whose query is
// checked while its body is left to stream.
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, errorOf, type TestApi } from '../support/api.ts';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi();
});

const device = { id: 'val-1', model: 'm', credentials: { username: 'val-1', password: 'password-1' } };
const asOperator = (path: string, init: RequestInit & { json?: unknown } = {}) => api.request(path, { method: 'POST', token: api.tokens.operator, ...init });

describe('a request that fails its declared schema', () => {
  it.each([
    ['a body field', '/api/v1/devices', { ...device, id: '../x' }, 'body: id must be 1-128 letters, digits, ":", ".", "_" or "-"'],
    ['a nested body field', '/api/v1/devices', { ...device, credentials: { username: 'u', password: 'short' } }, 'body: credentials.password must be at least 8 characters'],
    ['a rule across fields', '/api/v1/devices/val-1/operations', { command: 'Replace', uri: './DevDetail/FwV' }, 'body: data a Replace needs data (devices fail on a Replace without Data)'],
    ['a body of the wrong type', '/api/v1/devices', [device], 'body: body Invalid input: expected object, received array'],
    ['an enum', '/api/v1/tokens', { role: 'root', name: 'x' }, 'body: role Invalid option: expected one of "admin"|"manufacturer"|"operator"'],
  ])('names the field of %s (400)', async (_name, path, json, message) => {
    const res = await api.request(path, { method: 'POST', token: path === '/api/v1/tokens' ? api.tokens.admin : api.tokens.operator, json });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: 'VALIDATION', message } });
  });

  it.each([
    ['an empty field', 'GET', '/api/v1/cohorts/preview?model=', 'query: model Too small: expected string to have >=1 characters'],
    ['a missing field', 'POST', '/api/v1/builds?model=router', 'query: version Invalid input: expected string, received undefined'],
    ['a name with path tricks', 'POST', '/api/v1/builds?model=..%2Fetc&version=1.0', 'query: model must be 1-128 letters, digits, ".", "_", "+" or "-", starting with a letter or digit'],
  ])('names the query field of %s (400)', async (_name, method, path, message) => {
    const upload = method === 'POST';
    const res = await api.request(path, { method, token: upload ? api.tokens.acme : api.tokens.operator, ...(upload ? { body: 'image' } : {}) });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: 'VALIDATION', message } });
  });

  it('refuses a body that is not JSON (400)', async () => {
    const res = await asOperator('/api/v1/devices', { body: '{"id":', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toEqual({ code: 'VALIDATION', message: 'body: is not valid JSON' });
  });

  it.each([['text/plain'], [undefined]])('refuses JSON sent as %s (415)', async (type) => {
    const res = await asOperator('/api/v1/devices', { body: JSON.stringify(device), ...(type ? { headers: { 'content-type': type } } : {}) });
    expect(res.status).toBe(415);
    expect(await errorOf(res)).toEqual({ code: 'UNSUPPORTED_MEDIA_TYPE', message: 'body: send JSON with Content-Type: application/json' });
    expect((await api.request('/api/v1/devices/val-1', { token: api.tokens.operator })).status).toBe(404);
  });
});

describe('an optional body', () => {
  it.each([
    ['no body at all', {}],
    ['an empty JSON body', { body: '', headers: { 'content-type': 'application/json' } }],
    ['an empty object', { json: {} }],
  ])('may be %s: the action goes on to the campaign (404 for an unknown one)', async (_name, init) => {
    const res = await asOperator('/api/v1/campaigns/cmp_nope/pause', init);
    expect(res.status).toBe(404);
    expect(await errorOf(res)).toEqual({ code: 'NOT_FOUND', message: 'no campaign cmp_nope' });
  });

  it('is still checked when given', async () => {
    const res = await asOperator('/api/v1/campaigns/cmp_nope/pause', { json: { reason: 'x'.repeat(501) } });
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toEqual({ code: 'VALIDATION', message: 'body: reason Too big: expected string to have <=500 characters' });
  });
});

describe('the build upload', () => {
  it('refuses a bad query without waiting for the body, which never ends', async () => {
    // A body that is never closed: an answer proves nothing read it to its end first.
    const body = new ReadableStream<Uint8Array>({ start: (controller) => controller.enqueue(new Uint8Array(1000)) });
    const res = await api.request('/api/v1/builds?model=a%20b&version=1.0', { method: 'POST', token: api.tokens.acme, body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toMatch(/^query: model /);
  });

  it('takes the raw body whatever its Content-Type says: no JSON validator reads it', async () => {
    const res = await api.request('/api/v1/builds?model=raw-body&version=1.0', { method: 'POST', token: api.tokens.acme, body: 'not json', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ status: 'processing' });
  });
});
