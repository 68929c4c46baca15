// A device's update request (Generic Alert 1226 ...devicerequest / ...userrequest) as a
// hostile or odd client sends it, through the independent DM test client over real HTTP:
// the type's spellings the protocol allows are understood, lookalikes are not, two requests
// in one message are answered once, and a request whose credentials fail is not answered
// (nothing recorded, nothing deployed). The parser is also checked on its own.
import { beforeAll, describe, expect, it } from 'vitest';
import { describeRequestOutcome, updateRequestOf } from '../../src/deployments/requested.ts';
import { alertXml, DmTestClient } from '../support/dm-test-client.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});

const FUMO = './FUMO/fota';
const DEVICE_REQUEST = 'org.openmobilealliance.dm.firmwareupdate.devicerequest';

let count = 0;
async function registered(): Promise<{ id: string; password: string }> {
  count += 1;
  const device = { id: `IMEI:4900000000${String(count).padStart(5, '0')}`, password: `device-password-${count}` };
  const res = await server.api('/api/v1/devices', {
    method: 'POST',
    token: server.tokens.operator,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: device.id, model: 'X100', firmwareVersion: '1.0', credentials: { username: device.id, password: device.password } }),
  });
  expect(res.status).toBe(201);
  return device;
}

async function requestsOf(deviceId: string): Promise<Array<{ action: string; details: Record<string, unknown> }>> {
  const res = await server.api(`/api/v1/audit?subject=${encodeURIComponent(deviceId)}`, { token: server.tokens.operator });
  return ((await res.json()) as { items: Array<{ action: string; details: Record<string, unknown> }> }).items.filter((e) => e.action.startsWith('device.update-request'));
}

/** The server's Statuses on our Alerts 1226 in the session's last reply: code and the text of its Item. */
async function askWith(device: { id: string; password: string }, items: Parameters<typeof alertXml>[1][], password = device.password) {
  const client = new DmTestClient({ url: `${server.url}/dm`, devId: device.id, username: device.id, password });
  const outcome = await client.session({ extra: items.map((i) => alertXml('1226', i)) });
  const xml = outcome.exchanges.map((e) => e.response.xml ?? '').join('\n');
  const answers = [...xml.matchAll(/<Status>(?:(?!<\/Status>).)*?<Cmd>Alert<\/Cmd>(?:(?!<\/Status>).)*?<\/Status>/gs)].map((m) => m[0]);
  const said = answers.flatMap((s) => [.../<Item>.*?<Data>(.*?)<\/Data>.*?<\/Item>/s.exec(s) ?? []].slice(1));
  return { outcome, said, xml };
}

describe('update requests from a DM client', () => {
  it.each([
    ['Reversed-Domain-Name: ORG.OPENMOBILEALLIANCE.DM.FIRMWAREUPDATE.USERREQUEST', 'user'],
    [DEVICE_REQUEST, 'device'],
  ])('understands the type %s and answers with nothing to do, saying why', async (type, kind) => {
    const device = await registered();
    const { outcome, said } = await askWith(device, [[{ source: FUMO, type, format: 'chr' }]]);
    expect(outcome.end).toBe('completed');
    expect(said).toEqual([`update requested by ${kind}: none released for cohort`]);
    expect((await requestsOf(device.id)).map((e) => e.details)).toEqual([expect.objectContaining({ kind, outcome: 'none' })]);
  });

  it('answers two requests in one message once', async () => {
    const device = await registered();
    await askWith(device, [[{ source: FUMO, type: DEVICE_REQUEST }], [{ source: FUMO, type: DEVICE_REQUEST }]]);
    expect(await requestsOf(device.id)).toHaveLength(1);
  });

  it('does not answer a request whose credentials fail: nothing recorded', async () => {
    const device = await registered();
    const { outcome } = await askWith(device, [[{ source: FUMO, type: DEVICE_REQUEST }]], 'wrong-password');
    expect(outcome.end).toBe('auth-failed');
    expect(await requestsOf(device.id)).toEqual([]);
  });

  it('ignores lookalike types: no request is recorded', async () => {
    const device = await registered();
    await askWith(device, [[{ source: FUMO, type: 'org.openmobilealliance.dm.firmwareupdate.devicerequestx' }], [{ source: FUMO, type: `${'a'.repeat(4000)}devicerequest` }]]);
    expect(await requestsOf(device.id)).toEqual([]);
  });
});

describe('the request type parser', () => {
  it.each([
    ['the device request', DEVICE_REQUEST, 'device'],
    ['the user request in mixed case', 'org.openmobilealliance.dm.firmwareupdate.UserRequest', 'user'],
    ['a FUMO result type', 'org.openmobilealliance.dm.firmwareupdate.download', undefined],
    ['the bare word', 'devicerequest', undefined],
    ['nothing', '', undefined],
    ['150 KB of repeats', `${'firmwareupdate.'.repeat(10_000)}x`, undefined],
    ['a trailing newline', 'org.openmobilealliance.dm.firmwareupdate.devicerequest\n', undefined],
  ])('%s -> %s', (_label, type, kind) => {
    expect(updateRequestOf(type)).toBe(kind);
  });

  it('describes what the device is told', () => {
    expect(describeRequestOutcome({ outcome: 'commanded', deploymentId: 'dep_1', releaseId: 'rel_1', version: '2.0' })).toBe('update to 2.0 (release rel_1) follows');
    expect(describeRequestOutcome({ outcome: 'none', reason: 'update requested by user: none released for cohort' })).toBe('update requested by user: none released for cohort');
  });
});
