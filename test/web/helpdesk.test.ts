// The device page's "Ask the device now" over real HTTP, without a browser: the form's
// origin check (CSRF), who may ask (operators, admins) and fix (operators), hostile paths
// typed in the form, and the panel showing the query the form started.
import { beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { get, login, post, registerDevice } from './console-harness.ts';

let server: TestServer;
let operator: string;
let admin: string;

beforeAll(async () => {
  server = await startTestServer();
  operator = await login(server, server.tokens.operator);
  admin = await login(server, server.tokens.admin);
  for (const id of ['WEB-Q1', 'WEB-Q2']) await registerDevice(server, id);
});

async function queriesOf(id: string): Promise<string[]> {
  const page = (await (await server.api(`/api/v1/audit?subject=${id}`, { token: server.tokens.operator })).json()) as { items: Array<{ action: string; details: { queryId?: string } }> };
  return page.items.filter((e) => e.action === 'device.query').map((e) => e.details.queryId ?? '');
}

describe('the query form', () => {
  it('refuses a POST without this console as its Origin (CSRF), even with a valid session, and asks nothing', async () => {
    for (const origin of [null, 'https://evil.example']) {
      const res = await post(server, '/devices/WEB-Q1/queries', { preset: 'versions' }, { cookie: operator, origin });
      expect(res.status).toBe(403);
    }
    expect(await queriesOf('WEB-Q1')).toEqual([]);
  });

  it('sends a visitor without a session to sign in, and refuses a manufacturer', async () => {
    const anonymous = await post(server, '/devices/WEB-Q1/queries', { preset: 'versions' });
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toMatch(/^\/login/);
    const res = await post(server, '/login', { token: server.tokens.acme });
    const maker = res.headers.getSetCookie().find((c) => c.startsWith('fota_console='))?.split(';')[0] ?? '';
    expect((await post(server, '/devices/WEB-Q1/queries', { preset: 'versions' }, { cookie: maker })).status).toBe(403);
    expect(await queriesOf('WEB-Q1')).toEqual([]);
  });

  it('asks and comes back to the device page showing the query, waiting for the device', async () => {
    const res = await post(server, '/devices/WEB-Q1/queries', { preset: 'versions', nodes: './Vendor/A\n./Vendor/B' }, { cookie: operator });
    expect(res.status).toBe(303);
    const location = res.headers.get('location') ?? '';
    expect(location).toMatch(/^\/devices\/WEB-Q1\?query=qry_[a-z0-9]+&done=query$/);
    const [queryId] = await queriesOf('WEB-Q1');
    expect(location).toContain(queryId);
    const page = await (await get(server, location, operator)).text();
    expect(page).toContain('data-testid="helpdesk"');
    expect(page).toContain(`data-query-id="${queryId}"`);
    expect(page).toContain('data-state="waiting"');
    for (const uri of ['./DevDetail/FwV', './Vendor/A', './Vendor/B']) expect(page).toContain(`data-uri="${uri}"`);
    // The live refresh asks for the same query.
    expect(page).toContain(`data-src="/devices/WEB-Q1?query=${queryId}"`);
  });

  it('asks the device user first when the form says what to ask, and shows where that stands (escaped)', async () => {
    const text = 'May we read <b>your</b> settings?';
    const res = await post(server, '/devices/WEB-Q2/queries', { preset: 'versions', confirm: text }, { cookie: operator });
    expect(res.status).toBe(303);
    const page = await (await get(server, res.headers.get('location') ?? '', operator)).text();
    expect(page).toContain('data-testid="query-confirmation" data-state="waiting"');
    expect(page).toContain('May we read &lt;b&gt;your&lt;/b&gt; settings?');
    expect(page).not.toContain('<b>your</b>');
    const rows = await server.ctx.db.q.select().from(server.ctx.db.t.confirmationPolicies);
    expect(rows.filter((r) => r.text === text).map((r) => r.maxSeconds)).toEqual([120]);
  });

  it('shows a hostile path typed in the form as a refusal on the page, and asks nothing', async () => {
    const before = await queriesOf('WEB-Q2');
    const res = await post(server, '/devices/WEB-Q2/queries', { nodes: './DevInfo/../../DMAcc' }, { cookie: operator });
    expect(res.status).toBe(400);
    const page = await res.text();
    expect(page).toContain('node path “./DevInfo/../../DMAcc”');
    expect(page).not.toContain('<script>alert');
    const markup = await post(server, '/devices/WEB-Q2/queries', { nodes: './<script>alert(1)</script>' }, { cookie: operator });
    expect(markup.status).toBe(400);
    expect(await markup.text()).not.toContain('<script>alert(1)');
    expect(await queriesOf('WEB-Q2')).toEqual(before);
  });

  it('lets an admin ask but not fix; a fix needs the same origin too', async () => {
    const asked = await post(server, '/devices/WEB-Q2/queries', { preset: 'serial' }, { cookie: admin });
    expect(asked.status).toBe(303);
    const queryId = new URL(asked.headers.get('location') ?? '', server.url).searchParams.get('query') ?? '';
    const fields = { uri: './ConnMO/cell/APN', data: 'iot.other.example' };
    expect((await post(server, `/devices/WEB-Q2/queries/${queryId}/fixes`, fields, { cookie: admin })).status).toBe(403);
    expect((await post(server, `/devices/WEB-Q2/queries/${queryId}/fixes`, fields, { cookie: operator, origin: null })).status).toBe(403);
    // Under another device the query is not found.
    expect((await post(server, `/devices/WEB-Q1/queries/${queryId}/fixes`, fields, { cookie: operator })).status).toBe(404);
    const fixed = await post(server, `/devices/WEB-Q2/queries/${queryId}/fixes`, fields, { cookie: operator });
    expect(fixed.status).toBe(303);
    expect(fixed.headers.get('location')).toBe(`/devices/WEB-Q2?query=${queryId}&done=fix`);
  });

  it('does not show one device\'s query on another device\'s page', async () => {
    const [queryId] = await queriesOf('WEB-Q1');
    const res = await get(server, `/devices/WEB-Q2?query=${queryId}`, operator);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain('./Vendor/A');
  });
});
