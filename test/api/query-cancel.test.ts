// Ending a helpdesk query before the device answered, over real HTTP with a real DM client:
// an operator (or admin) cancels it, or it expires when the device never picked it up. Its
// nodes not sent are never read, the query says when and why it stopped, the device's
// history records it, and `fota device query --cancel` does the same from a terminal.
// Knowing a query id is not enough to cancel it under another device.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Output } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';
import { DmClient } from '../../src/device/dm-client.ts';
import { DmTree, type NodeValue } from '../../src/device/tree.ts';
import { expireQueries } from '../../src/devices/helpdesk/cancel.ts';
import type { QueryView } from '../../src/devices/helpdesk/schemas.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { login } from '../web/console-harness.ts';

let server: TestServer;
const PASSWORD = 'query-cancel-pw';

beforeAll(async () => {
  server = await startTestServer();
  for (const id of ['QC-1', 'QC-2', 'QC-cli', 'QC-old', 'QC-new']) {
    const res = await call('/api/v1/devices', { method: 'POST', body: { id, model: 'qc-model', credentials: { username: id, password: PASSWORD } } });
    expect(res.status).toBe(201);
  }
});

function call(path: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<Response> {
  return server.api(path, {
    method: init.method ?? 'GET',
    token: init.token ?? server.tokens.operator,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body), headers: { 'content-type': 'application/json' } }),
  });
}

async function ask(id: string, nodes: string[]): Promise<QueryView> {
  const res = await call(`/api/v1/devices/${id}/queries`, { method: 'POST', body: { nodes, wake: false } });
  expect(res.status).toBe(202);
  return (await res.json()) as QueryView;
}

const view = async (id: string, queryId: string) => (await (await call(`/api/v1/devices/${id}/queries/${queryId}`)).json()) as QueryView;

async function history(id: string): Promise<Array<{ action: string; details: Record<string, unknown> }>> {
  return ((await (await call(`/api/v1/audit?subject=${id}`)).json()) as { items: Array<{ action: string; details: Record<string, unknown> }> }).items;
}

/** One DM session of the device, whose tree holds every node asked here. */
async function session(id: string): Promise<void> {
  const fixed = (): Record<string, NodeValue> => ({
    './DevInfo/DevId': { data: id, format: 'chr' },
    './DevInfo/Man': { data: 'acme', format: 'chr' },
    './DevInfo/Mod': { data: 'qc-model', format: 'chr' },
    './DevInfo/DmV': { data: '1.2', format: 'chr' },
    './DevInfo/Lang': { data: 'en', format: 'chr' },
    './Vendor/Signal': { data: '-71', format: 'chr' },
  });
  await new DmClient({ serverUrl: `${server.url}/dm`, devId: id, username: id, password: PASSWORD }).session({ tree: new DmTree(fixed, {}), exec: () => 406 });
}

describe('an operator cancels a query', () => {
  it('reads nothing of it afterwards: its nodes end unread, the query says who stopped it, the history records it', async () => {
    const q = await ask('QC-1', ['./Vendor/Signal']);
    const res = await call(`/api/v1/devices/QC-1/queries/${q.id}/cancel`, { method: 'POST' });
    expect(res.status).toBe(200);
    const canceled = (await res.json()) as QueryView;
    expect(canceled.state).toBe('canceled');
    expect(canceled.canceled?.reason).toMatch(/^canceled by /);
    await session('QC-1');
    const after = await view('QC-1', q.id);
    expect(after.state).toBe('canceled');
    expect(after.results.map((r) => [r.uri, r.state, r.statusCode, r.value])).toEqual([['./Vendor/Signal', 'failed', null, null]]);
    const ended = (await history('QC-1')).find((e) => e.action === 'device.query-canceled');
    expect(ended?.details).toMatchObject({ queryId: q.id, operations: 1, cause: canceled.canceled?.reason });
    // The console's device page says so too.
    const cookie = await login(server, server.tokens.operator);
    const page = await (await fetch(`${server.url}/devices/QC-1?query=${q.id}`, { headers: { cookie } })).text();
    expect(page).toMatch(/data-testid="query-canceled">Stopped [^<]*: canceled by [^<]*; its nodes not sent to the device are not read\.</);
  });

  it('refuses to cancel twice, a query the device already answered (409), and a fix on a canceled query', async () => {
    const q = await ask('QC-1', ['./Vendor/Signal']);
    expect((await call(`/api/v1/devices/QC-1/queries/${q.id}/cancel`, { method: 'POST' })).status).toBe(200);
    const again = await call(`/api/v1/devices/QC-1/queries/${q.id}/cancel`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { message: string } }).error.message).toMatch(/is over already: canceled by /);
    const fix = await call(`/api/v1/devices/QC-1/queries/${q.id}/fixes`, { method: 'POST', body: { uri: './Vendor/Signal', data: '1' } });
    expect(fix.status).toBe(409);
    const answered = await ask('QC-1', ['./Vendor/Signal']);
    await session('QC-1');
    expect((await view('QC-1', answered.id)).state).toBe('done');
    const late = await call(`/api/v1/devices/QC-1/queries/${answered.id}/cancel`, { method: 'POST' });
    expect(late.status).toBe(409);
    expect((await view('QC-1', answered.id)).state).toBe('done');
  });

  it('finds the query only under its own device, lets an admin cancel, and refuses a manufacturer', async () => {
    const q = await ask('QC-2', ['./Vendor/Signal']);
    expect((await call(`/api/v1/devices/QC-1/queries/${q.id}/cancel`, { method: 'POST' })).status).toBe(404);
    expect((await call(`/api/v1/devices/QC-2/queries/${q.id}/cancel`, { method: 'POST', token: server.tokens.acme })).status).toBe(403);
    expect((await view('QC-2', q.id)).state).toBe('waiting');
    expect((await call(`/api/v1/devices/QC-2/queries/${q.id}/cancel`, { method: 'POST', token: server.tokens.admin })).status).toBe(200);
  });

  it('cancels from the command line: fota device query DEVID --query ID --cancel', async () => {
    const q = await ask('QC-cli', ['./Vendor/Signal', './Vendor/Other']);
    let stdout = '';
    const io: Output = { out: (text) => void (stdout += text), err: () => undefined, interactive: false };
    expect(await main(['device', 'query', 'QC-cli', '--query', q.id, '--cancel', '--server', server.url, '--token', server.tokens.operator], io)).toBe(0);
    expect(stdout).toMatch(new RegExp(`^query ${q.id} canceled by .*: 2 nodes never read\\n$`));
    expect((await view('QC-cli', q.id)).state).toBe('canceled');
  });
});

describe('a query the device never picks up', () => {
  it('expires after a day: its nodes end unread, recorded in the history; a newer one waits on', async () => {
    const old = await ask('QC-old', ['./Vendor/Signal']);
    expect(server.ctx.config.queryExpiryMs).toBe(24 * 3_600_000);
    server.clock.advance(server.ctx.config.queryExpiryMs - 1000);
    const recent = await ask('QC-new', ['./Vendor/Signal']);
    server.clock.advance(2000);
    expect(await expireQueries(server.ctx)).toBeGreaterThanOrEqual(1);
    const expired = await view('QC-old', old.id);
    expect(expired.state).toBe('canceled');
    expect(expired.canceled?.reason).toBe('expired: the device did not pick it up within 24 h');
    expect((await history('QC-old')).find((e) => e.action === 'device.query-expired')?.details).toMatchObject({ queryId: old.id, operations: 1 });
    expect((await view('QC-new', recent.id)).state).toBe('waiting');
    // Its device comes back: nothing of the expired query is read; the newer one is.
    await session('QC-old');
    await session('QC-new');
    expect((await view('QC-old', old.id)).results.map((r) => r.statusCode)).toEqual([null]);
    expect((await view('QC-new', recent.id)).results.map((r) => [r.statusCode, r.value])).toEqual([[200, '-71']]);
    expect(await expireQueries(server.ctx)).toBe(0);
  });
});

describe('the expiry as set (FOTA_QUERY_EXPIRY_HOURS)', () => {
  it('ends a query the device has not picked up once the hours set have passed, and says so', async () => {
    const other = await startTestServer({}, { env: { FOTA_QUERY_EXPIRY_HOURS: '2' } });
    const as = (path: string, body: unknown) => other.api(path, { method: 'POST', token: other.tokens.operator, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    expect((await as('/api/v1/devices', { id: 'QC-short', model: 'qc-model', credentials: { username: 'QC-short', password: PASSWORD } })).status).toBe(201);
    const asked = await as('/api/v1/devices/QC-short/queries', { nodes: ['./Vendor/Signal'], wake: false });
    expect(asked.status).toBe(202);
    const query = (await asked.json()) as QueryView;
    other.clock.advance(2 * 3_600_000 - 1000);
    expect(await expireQueries(other.ctx)).toBe(0);
    other.clock.advance(2000);
    expect(await expireQueries(other.ctx)).toBe(1);
    const ended = (await (await other.api(`/api/v1/devices/QC-short/queries/${query.id}`, { token: other.tokens.operator })).json()) as QueryView;
    expect(ended.state).toBe('canceled');
    expect(ended.canceled?.reason).toBe('expired: the device did not pick it up within 2 h');
  });
});
