// The agent's DM client against the real server on loopback, in XML and WBXML: the md5
// challenge and the nonce carried to the next session, RespURI, a Status for every server
// command (Results after a Get), Alert 1222 while the server's package has no Final
// (forced by a small MaxMsgSize), and the end of the session on a closing message.
import { beforeAll, describe, expect, it } from 'vitest';
import { DmClient } from '../../src/device/dm-client.ts';
import { DmTree, type NodeValue } from '../../src/device/tree.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});

const PASSWORD = 'dm-client-password';

async function register(id: string): Promise<void> {
  const res = await server.api('/api/v1/devices', {
    method: 'POST',
    token: server.tokens.operator,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id, model: 'agent-model', firmwareVersion: '1.0', credentials: { username: id, password: PASSWORD } }),
  });
  expect(res.status).toBe(201);
}

async function queue(id: string, op: { command: string; uri: string; data?: string }): Promise<string> {
  const res = await server.api(`/api/v1/devices/${id}/operations`, { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify(op) });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function operation(id: string, opId: string) {
  return (await (await server.api(`/api/v1/devices/${id}/operations/${opId}`, { token: server.tokens.operator })).json()) as { status: string; statusCode?: number; result?: Array<{ uri: string; data: string; format?: string }> };
}

function treeFor(id: string): DmTree {
  const fixed = (): Record<string, NodeValue> => ({
    './DevInfo/DevId': { data: id, format: 'chr' },
    './DevInfo/Man': { data: 'acme', format: 'chr' },
    './DevInfo/Mod': { data: 'agent-model', format: 'chr' },
    './DevInfo/DmV': { data: '1.2', format: 'chr' },
    './DevInfo/Lang': { data: 'en-US', format: 'chr' },
    './DevDetail/FwV': { data: '1.0', format: 'chr' },
    './DevDetail/SwV': { data: 'agent', format: 'chr' },
    './DevDetail/HwV': { data: 'rev-b', format: 'chr' },
    './FUMO/fota/State': { data: '10', format: 'int' },
  });
  return new DmTree(fixed, {});
}

describe.each(['xml', 'wbxml'] as const)('DmClient (%s)', (encoding) => {
  it('answers every server command across a multi-message package, then ends the session', async () => {
    const id = `dm-client-${encoding}`;
    await register(id);
    const ops = {
      fwv: await queue(id, { command: 'Get', uri: './DevDetail/FwV' }),
      interior: await queue(id, { command: 'Get', uri: './DevInfo' }),
      missing: await queue(id, { command: 'Get', uri: './Vendor/Nope' }),
      set: await queue(id, { command: 'Replace', uri: './Vendor/Config/Mode', data: 'eco' }),
      readOnly: await queue(id, { command: 'Replace', uri: './DevInfo/DevId', data: 'someone-else' }),
      exec: await queue(id, { command: 'Exec', uri: './Vendor/Reboot' }),
      state: await queue(id, { command: 'Get', uri: './FUMO/fota/State' }),
    };
    const tree = treeFor(id);
    const execs: string[] = [];
    const client = new DmClient({ serverUrl: `${server.url}/dm`, devId: id, username: id, password: PASSWORD, encoding, maxMsgSize: encoding === 'xml' ? 1800 : 650 });
    const first = await client.session({
      tree,
      exec: (uri) => {
        execs.push(uri);
        return 406;
      },
    });
    expect(first.challenged).toBe(true);
    expect(first.clientNonce).toBeDefined();
    // A small MaxMsgSize makes the server spread its commands over several messages.
    expect(first.continuations).toBeGreaterThan(0);
    expect(first.messages).toBeGreaterThan(3);

    expect(await operation(id, ops.fwv)).toMatchObject({ status: 'done', statusCode: 200, result: [{ uri: './DevDetail/FwV', data: '1.0' }] });
    expect(await operation(id, ops.interior)).toMatchObject({ status: 'done', result: [{ uri: './DevInfo', data: 'DevId/Man/Mod/DmV/Lang', format: 'node' }] });
    expect(await operation(id, ops.missing)).toMatchObject({ status: 'failed', statusCode: 404 });
    expect(await operation(id, ops.set)).toMatchObject({ status: 'done', statusCode: 200 });
    expect(tree.values['./Vendor/Config/Mode']).toBe('eco');
    expect(await operation(id, ops.readOnly)).toMatchObject({ status: 'failed', statusCode: 405 });
    expect(await operation(id, ops.exec)).toMatchObject({ status: 'failed', statusCode: 406 });
    expect(execs).toEqual(['./Vendor/Reboot']);
    expect(await operation(id, ops.state)).toMatchObject({ status: 'done', result: [{ uri: './FUMO/fota/State', data: '10' }] });
    const device = (await (await server.api(`/api/v1/devices/${id}`, { token: server.tokens.operator })).json()) as { inventory: Record<string, { value: string }> };
    expect(device.inventory['./DevDetail/HwV']?.value).toBe('rev-b');

    // The nonce from the 212 carries over: the next session is accepted at once.
    const second = await client.session({ tree, exec: () => 406, ...(first.clientNonce ? { clientNonce: first.clientNonce } : {}) });
    expect(second).toMatchObject({ challenged: false, messages: 1 });
  });
});

describe('DmClient refusals', () => {
  it('gives up with a clear error when the password is wrong', async () => {
    await register('dm-client-wrong');
    const client = new DmClient({ serverUrl: `${server.url}/dm`, devId: 'dm-client-wrong', username: 'dm-client-wrong', password: 'not-the-password' });
    await expect(client.session({ tree: treeFor('dm-client-wrong'), exec: () => 406 })).rejects.toThrow(/refused our credentials/);
  });

  it('reports an unknown device as refused', async () => {
    const client = new DmClient({ serverUrl: `${server.url}/dm`, devId: 'nobody-registered-me', username: 'x', password: 'y' });
    await expect(client.session({ tree: treeFor('nobody-registered-me'), exec: () => 406 })).rejects.toThrow(/refused the session \(SyncHdr Status 403\)/);
  });
});
