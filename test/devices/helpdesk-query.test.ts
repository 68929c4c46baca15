// The helpdesk live query against the reference agent over real DM sessions (XML and
// WBXML): the server wakes the device with a Package 0 through its webhook, the device
// answers every preset in that session (interior nodes followed to their leaves, no
// credentials read), a node it lacks comes back 404, each result with the time it was
// read; a query that does not wake waits for the poll; a fix is a Replace and a re-read,
// recorded in the device's history.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceAgent } from '../../src/device/agent.ts';
import { SIMULATED_APPS } from '../../src/device/helpdesk-nodes.ts';
import { WebhookReceiver } from '../../src/device/simulate/webhook.ts';
import type { QueryView } from '../../src/devices/helpdesk/schemas.ts';
import { LOG_NODE } from '../../src/omadm/helpdesk-presets.ts';
import { pseudoRandom, tempDirFor } from '../support/harness.ts';
import { ALLOW_LOOPBACK_WEBHOOKS, startTestServer, type TestServer } from '../support/server.ts';

const PASSWORD = 'helpdesk-device-pw';
const MODEL = 'helpdesk-model';

let server: TestServer;
let receiver: WebhookReceiver;
let dir: string;
let image: string;
/** Sessions opened by a Package 0, by device: a test awaits the one its query started. */
const woken = new Map<string, Promise<unknown>>();
const agents = new Map<string, DeviceAgent>();

beforeAll(async () => {
  dir = tempDirFor('helpdesk', afterAll);
  server = await startTestServer({}, { env: ALLOW_LOOPBACK_WEBHOOKS });
  image = join(dir, 'v1.bin');
  await writeFile(image, pseudoRandom(4096, 'helpdesk'));
  receiver = await WebhookReceiver.start({
    onNotify: (deviceId, sessionId) => {
      const agent = agents.get(deviceId);
      if (!agent) return false;
      woken.set(deviceId, agent.runOnce({ sessionId }));
      return true;
    },
  });
  afterAll(() => receiver.close());
});

async function call(path: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<Response> {
  return server.api(path, {
    method: init.method ?? 'GET',
    token: init.token ?? server.tokens.operator,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body), headers: { 'content-type': 'application/json' } }),
  });
}

async function device(id: string, encoding: 'xml' | 'wbxml'): Promise<DeviceAgent> {
  const res = await call('/api/v1/devices', { method: 'POST', body: { id, model: MODEL, firmwareVersion: '1.0', credentials: { username: id, password: PASSWORD }, webhookUrl: receiver.urlFor(id) } });
  expect(res.status, await res.clone().text()).toBe(201);
  const agent = await DeviceAgent.open({ serverUrl: server.url, devId: id, model: MODEL, username: id, password: PASSWORD, dataDir: join(dir, id), image, version: '1.0', trust: { keys: [] }, encoding, apps: SIMULATED_APPS });
  agents.set(id, agent);
  return agent;
}

async function ask(id: string, body: unknown, token?: string): Promise<QueryView> {
  const res = await call(`/api/v1/devices/${id}/queries`, { method: 'POST', body, ...(token ? { token } : {}) });
  const text = await res.text();
  expect(res.status, text).toBe(202);
  return JSON.parse(text) as QueryView;
}

async function read(id: string, queryId: string): Promise<QueryView> {
  const res = await call(`/api/v1/devices/${id}/queries/${queryId}`);
  expect(res.status).toBe(200);
  return (await res.json()) as QueryView;
}

const result = (q: QueryView, uri: string) => q.results.find((r) => r.uri === uri);
const valueOf = (q: QueryView, uri: string) => result(q, uri)?.value;

describe.each(['xml', 'wbxml'] as const)('a helpdesk query over DM (%s)', (encoding) => {
  it('wakes the device, which answers every preset in that session; a node it lacks is 404; each result has its time and Status', async () => {
    const id = `HELP-${encoding}`;
    const agent = await device(id, encoding);
    const asked = await ask(id, { presets: ['type', 'serial', 'versions', 'capabilities', 'apps', 'connectivity', 'log'], nodes: ['./Vendor/Missing/Node'] });
    expect(asked.wake).toMatchObject({ delivered: true });
    // Until the device answers, nothing is read.
    expect(asked.results.every((r) => r.readAt === null && r.value === null)).toBe(true);
    await woken.get(id);
    const q = await read(id, asked.id);
    expect(q.state).toBe('done');

    expect(valueOf(q, './DevInfo/DevId')).toBe(id);
    expect(valueOf(q, './DevInfo/Mod')).toBe(MODEL);
    expect(valueOf(q, './DevDetail/FwV')).toBe(agent.firmwareVersion);
    expect(result(q, './DevDetail/FwV')).toMatchObject({ statusCode: 200, statusText: 'OK', state: 'done', source: 'versions' });
    // Whether the agent takes large objects is its business; a capability reads as a bool.
    expect(result(q, './DevDetail/LrgObj')).toMatchObject({ format: 'bool', value: expect.stringMatching(/^(true|false)$/) });
    // Installed applications: the list, then each application's leaves.
    expect(result(q, './SCOMO/Inventory/Deployed')).toMatchObject({ format: 'node', value: '1/2' });
    expect(valueOf(q, './SCOMO/Inventory/Deployed/1/Name')).toBe('Telemetry agent');
    expect(valueOf(q, './SCOMO/Inventory/Deployed/2/Version')).toBe('1.0.4');
    expect(valueOf(q, './SCOMO/Inventory/Deployed/2/State')).toBe('inactive');
    // Connectivity: the DM account four levels down, and the bearers.
    expect(valueOf(q, './DMAcc/fota/AppAddr/1/Addr')).toBe(`${server.url}/dm`);
    expect(valueOf(q, './DMAcc/fota/AppAuth/1/AAuthName')).toBe(id);
    expect(valueOf(q, './ConnMO/cell/APN')).toBe('iot.fota.example');
    expect(q.results.some((r) => /AAuthSecret|AAuthData/.test(r.uri))).toBe(false);
    // The log: timestamped lines, the agent's start among them.
    expect(valueOf(q, LOG_NODE)).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z agent started: firmware 1\.0/m);
    // A node the device does not have.
    expect(result(q, './Vendor/Missing/Node')).toMatchObject({ state: 'failed', statusCode: 404, statusText: 'not found', value: null });

    for (const r of q.results) {
      expect(r.readAt, r.uri).not.toBeNull();
      expect(Date.parse(r.readAt ?? '')).toBeGreaterThanOrEqual(Date.parse(q.createdAt));
    }
    // The query is in the device's history with who asked.
    const audit = (await (await call(`/api/v1/audit?subject=${id}`)).json()) as { items: Array<{ action: string; details: Record<string, unknown> }> };
    expect(audit.items.find((e) => e.action === 'device.query')?.details).toMatchObject({ queryId: asked.id, nodes: ['./Vendor/Missing/Node'] });
    // The device's inventory keeps DevInfo and DevDetail leaves; a listing, the log and the
    // other nodes a helpdesk reads stay with the query.
    const record = (await (await call(`/api/v1/devices/${id}`)).json()) as { inventory: Record<string, unknown> };
    expect(record.inventory[LOG_NODE]).toBeUndefined();
    expect(record.inventory['./DMAcc/fota/AppAddr/1/Addr']).toBeUndefined();
    expect(record.inventory['./SCOMO/Inventory/Deployed']).toBeUndefined();
    expect(record.inventory['./DevDetail/FwV']).toBeDefined();
  });
});

describe('a query without a wake, and a fix', () => {
  it('waits for the device to poll, then shows what it read', async () => {
    const id = 'HELP-poll';
    const agent = await device(id, 'xml');
    const asked = await ask(id, { presets: ['versions'], wake: false });
    expect(asked).toMatchObject({ state: 'waiting', wake: null });
    expect((await read(id, asked.id)).state).toBe('waiting');
    expect(woken.has(id)).toBe(false);
    await agent.runOnce();
    const q = await read(id, asked.id);
    expect(q.state).toBe('done');
    expect(q.results.map((r) => [r.uri, r.value])).toEqual([
      ['./DevDetail/FwV', '1.0'],
      ['./DevDetail/SwV', 'fota-agent 1'],
      ['./DevDetail/HwV', '1.0'],
    ]);
  });

  it('fixes a setting from the results: a Replace, then the node read again, recorded in the history', async () => {
    const id = 'HELP-fix';
    await device(id, 'xml');
    const asked = await ask(id, { presets: ['connectivity'] });
    await woken.get(id);
    expect(valueOf(await read(id, asked.id), './ConnMO/cell/APN')).toBe('iot.fota.example');

    const res = await call(`/api/v1/devices/${id}/queries/${asked.id}/fixes`, { method: 'POST', body: { uri: './ConnMO/cell/APN', data: 'iot.plant7.example' } });
    expect(res.status, await res.clone().text()).toBe(202);
    const queued = (await res.json()) as QueryView;
    expect(queued.results.filter((r) => r.source === 'fix').map((r) => [r.command, r.state])).toEqual([
      ['Replace', 'queued'],
      ['Get', 'queued'],
    ]);
    await woken.get(id);
    const q = await read(id, asked.id);
    const fix = q.results.filter((r) => r.source === 'fix');
    expect(fix.map((r) => [r.command, r.statusCode, r.value])).toEqual([
      ['Replace', 200, 'iot.plant7.example'],
      ['Get', 200, 'iot.plant7.example'],
    ]);
    // A measured value cannot be set: the device refuses, and the query shows it.
    const refused = await call(`/api/v1/devices/${id}/queries/${asked.id}/fixes`, { method: 'POST', body: { uri: './ConnMO/cell/State', data: 'connected' } });
    expect(refused.status).toBe(202);
    await woken.get(id);
    const after = await read(id, asked.id);
    expect(after.results.find((r) => r.source === 'fix' && r.command === 'Replace' && r.uri === './ConnMO/cell/State')).toMatchObject({ state: 'failed', statusCode: 405 });

    const audit = (await (await call(`/api/v1/audit?subject=${id}`)).json()) as { items: Array<{ action: string; actorName?: string; details: Record<string, unknown> }> };
    const fixes = audit.items.filter((e) => e.action === 'device.fix');
    expect(fixes.map((e) => e.details.uri).sort()).toEqual(['./ConnMO/cell/APN', './ConnMO/cell/State']);
    expect(fixes.find((e) => e.details.uri === './ConnMO/cell/APN')?.details).toMatchObject({ queryId: asked.id, value: 'iot.plant7.example' });
  });
});
