// The helpdesk query API as an attacker meets it, over real HTTP: no token, a manufacturer's
// token, an admin fixing, a query id under another device, hostile node paths (nothing is
// queued for any of them), the bounds on paths and on kept queries, and a hostile device
// whose listing of an interior node tries to lead the query up the tree or to a secret.
import { beforeAll, describe, expect, it } from 'vitest';
import { DmClient } from '../../src/device/dm-client.ts';
import { DmTree, type NodeValue } from '../../src/device/tree.ts';
import { childPaths } from '../../src/devices/helpdesk/expand.ts';
import { MAX_QUERY_NODES, MAX_QUERY_PATHS, MAX_SHOWN_VALUE, QUERIES_KEPT, type QueryView } from '../../src/devices/helpdesk/schemas.ts';
import { LOG_NODE } from '../../src/omadm/helpdesk-presets.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
const PASSWORD = 'query-api-device-pw';

beforeAll(async () => {
  server = await startTestServer();
  for (const id of ['QA-1', 'QA-2', 'QA-hostile', 'QA-many']) {
    const res = await call('/api/v1/devices', { method: 'POST', body: { id, model: 'qa-model', credentials: { username: id, password: PASSWORD } } });
    expect(res.status).toBe(201);
  }
});

function call(path: string, init: { method?: string; body?: unknown; token?: string | null } = {}): Promise<Response> {
  const token = init.token === null ? undefined : (init.token ?? server.tokens.operator);
  return server.api(path, {
    method: init.method ?? 'GET',
    ...(token ? { token } : {}),
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body), headers: { 'content-type': 'application/json' } }),
  });
}

async function ask(id: string, body: unknown, token?: string): Promise<QueryView> {
  const res = await call(`/api/v1/devices/${id}/queries`, { method: 'POST', body, ...(token ? { token } : {}) });
  const text = await res.text();
  expect(res.status, text).toBe(202);
  return JSON.parse(text) as QueryView;
}

async function queriesAudited(id: string): Promise<number> {
  const page = (await (await call(`/api/v1/audit?subject=${id}`)).json()) as { items: Array<{ action: string }> };
  return page.items.filter((e) => e.action === 'device.query').length;
}

describe('who may ask and read', () => {
  let queryId: string;
  beforeAll(async () => {
    queryId = (await ask('QA-1', { presets: ['versions'], wake: false })).id;
  });

  it('refuses a missing or unknown token (401) and a manufacturer (403) on every query route', async () => {
    const routes = [
      { method: 'POST', path: '/api/v1/devices/QA-1/queries', body: { presets: ['serial'] } },
      { method: 'GET', path: `/api/v1/devices/QA-1/queries/${queryId}` },
      { method: 'POST', path: `/api/v1/devices/QA-1/queries/${queryId}/fixes`, body: { uri: './ConnMO/cell/APN', data: 'x' } },
      { method: 'POST', path: `/api/v1/devices/QA-1/queries/${queryId}/cancel` },
    ];
    for (const route of routes) {
      for (const token of [null, 'fota_not-a-real-token']) {
        const res = await call(route.path, { method: route.method, body: route.body, token });
        expect(res.status, `${route.method} ${route.path}`).toBe(401);
      }
      const res = await call(route.path, { method: route.method, body: route.body, token: server.tokens.acme });
      expect(res.status, `${route.method} ${route.path}`).toBe(403);
      expect(JSON.stringify(await res.json())).not.toContain('FwV');
    }
    expect(await queriesAudited('QA-1')).toBe(1);
  });

  it('lets an admin ask (audited under the admin) but not change the device', async () => {
    const q = await ask('QA-1', { presets: ['serial'], wake: false }, server.tokens.admin);
    expect(q.state).toBe('waiting');
    const fix = await call(`/api/v1/devices/QA-1/queries/${q.id}/fixes`, { method: 'POST', body: { uri: './ConnMO/cell/APN', data: 'x' }, token: server.tokens.admin });
    expect(fix.status).toBe(403);
  });

  it('finds a query only under its own device: knowing the query id is not enough', async () => {
    for (const path of [`/api/v1/devices/QA-2/queries/${queryId}`, '/api/v1/devices/QA-1/queries/qry_0000000000000000000000000', `/api/v1/devices/NOPE/queries/${queryId}`]) {
      const res = await call(path);
      expect(res.status, path).toBe(404);
      expect(JSON.stringify(await res.json())).not.toContain('./DevDetail');
    }
    const fix = await call(`/api/v1/devices/QA-2/queries/${queryId}/fixes`, { method: 'POST', body: { uri: './ConnMO/cell/APN', data: 'x' } });
    expect(fix.status).toBe(404);
    expect((await call('/api/v1/devices/NOPE/queries', { method: 'POST', body: { presets: ['serial'] } })).status).toBe(404);
  });
});

describe('hostile node paths', () => {
  const hostile: Array<[string, unknown]> = [
    ['a way up', '../etc/passwd'],
    ['a way up inside', './DevInfo/../../DMAcc'],
    ['a dot name', './DevInfo/./DevId'],
    ['a relative path', 'DevInfo/DevId'],
    ['an absolute URL', 'http://evil.example/x'],
    ['an empty name', './DevInfo//DevId'],
    ['a trailing slash', './DevInfo/'],
    ['the root alone', './'],
    ['a query part', './DevInfo?list=Struct'],
    ['a space', './Dev Info'],
    ['an escape', './DevInfo/%2e%2e'],
    ['a NUL', './DevInfo/\u0000'],
    ['markup', './<Get>/x'],
    ['non-ASCII', './DevInfo/Dév'],
    ['a credential', './DMAcc/fota/AppAuth/1/AAuthSecret'],
    ['a nonce', './DMAcc/fota/AppAuth/1/AAuthData'],
    ['too deep', `./${Array.from({ length: 17 }, () => 'a').join('/')}`],
    ['too long', `./${'a'.repeat(300)}`],
    ['not a string', 42],
  ];
  it.each(hostile)('refuses %s (400) and queues nothing', async (_what, path) => {
    const before = await queriesAudited('QA-2');
    const res = await call('/api/v1/devices/QA-2/queries', { method: 'POST', body: { nodes: [path] } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'VALIDATION' } });
    expect(await queriesAudited('QA-2')).toBe(before);
  });

  it('refuses more paths than a query takes, unknown presets, and an empty query', async () => {
    const many = Array.from({ length: MAX_QUERY_PATHS + 1 }, (_, i) => `./Vendor/N${i}`);
    for (const body of [{ nodes: many }, { presets: ['everything'] }, {}, { presets: [], nodes: [] }]) {
      expect((await call('/api/v1/devices/QA-2/queries', { method: 'POST', body })).status, JSON.stringify(body).slice(0, 80)).toBe(400);
    }
  });

  it('refuses a fix of a credential node or with no value', async () => {
    const q = await ask('QA-2', { presets: ['serial'], wake: false });
    for (const body of [{ uri: './DMAcc/fota/AppAuth/1/AAuthSecret', data: 'guess' }, { uri: './ConnMO/cell/APN', data: '' }, { uri: '../x', data: 'y' }]) {
      expect((await call(`/api/v1/devices/QA-2/queries/${q.id}/fixes`, { method: 'POST', body })).status).toBe(400);
    }
  });
});

describe('bounds', () => {
  it(`keeps a device's ${QUERIES_KEPT} newest queries and drops older ones with their results`, async () => {
    const first = await ask('QA-many', { presets: ['serial'], wake: false });
    for (let i = 0; i < QUERIES_KEPT; i++) await ask('QA-many', { presets: ['serial'], wake: false });
    expect((await call(`/api/v1/devices/QA-many/queries/${first.id}`)).status).toBe(404);
  });
});

describe('a hostile device', () => {
  it('cannot lead a query up the tree or to a secret through the children it lists', async () => {
    const id = 'QA-hostile';
    const q = await ask(id, { nodes: ['./Vendor/List'], wake: false });
    const fixed = (): Record<string, NodeValue> => ({
      './DevInfo/DevId': { data: id, format: 'chr' },
      './DevInfo/Man': { data: 'evil', format: 'chr' },
      './DevInfo/Mod': { data: 'qa-model', format: 'chr' },
      './DevInfo/DmV': { data: '1.2', format: 'chr' },
      './DevInfo/Lang': { data: 'en', format: 'chr' },
      './Vendor/List': { data: 'ok/../AAuthSecret/bad name/<x>/%2e%2e/ok2/ok', format: 'node' },
    });
    const client = new DmClient({ serverUrl: `${server.url}/dm`, devId: id, username: id, password: PASSWORD });
    await client.session({ tree: new DmTree(fixed, {}), exec: () => 406 });
    const view = (await (await call(`/api/v1/devices/${id}/queries/${q.id}`)).json()) as QueryView;
    expect(view.results.map((r) => [r.uri, r.statusCode])).toEqual([
      ['./Vendor/List', 200],
      ['./Vendor/List/ok', 404],
      ['./Vendor/List/ok2', 404],
    ]);
  });

  it('cannot make a query read without bound by listing thousands of children, and a huge value is cut in the answer', async () => {
    const id = 'QA-hostile';
    const q = await ask(id, { nodes: ['./Vendor/Many', LOG_NODE], wake: false });
    const names = Array.from({ length: 3000 }, (_, i) => `n${i}`).join('/');
    const log = 'x'.repeat(MAX_SHOWN_VALUE + 5000);
    const fixed = (): Record<string, NodeValue> => ({
      './DevInfo/DevId': { data: id, format: 'chr' },
      './DevInfo/Man': { data: 'evil', format: 'chr' },
      './DevInfo/Mod': { data: 'qa-model', format: 'chr' },
      './DevInfo/DmV': { data: '1.2', format: 'chr' },
      './DevInfo/Lang': { data: 'en', format: 'chr' },
      './Vendor/Many': { data: names, format: 'node' },
      [LOG_NODE]: { data: log, format: 'chr' },
    });
    const client = new DmClient({ serverUrl: `${server.url}/dm`, devId: id, username: id, password: PASSWORD });
    await client.session({ tree: new DmTree(fixed, {}), exec: () => 406 });
    const view = (await (await call(`/api/v1/devices/${id}/queries/${q.id}`)).json()) as QueryView;
    expect(view.results).toHaveLength(MAX_QUERY_NODES);
    expect(view.state).toBe('done');
    expect(view.results.find((r) => r.uri === LOG_NODE)).toMatchObject({ statusCode: 200, truncated: true });
    expect(view.results.find((r) => r.uri === LOG_NODE)?.value).toHaveLength(MAX_SHOWN_VALUE);
  });

  it('childPaths keeps only names a helpdesk may read', () => {
    expect(childPaths('./A', 'b/../c/./AAuthSecret/d e//f')).toEqual(['./A/b', './A/c', './A/f']);
  });
});
