// Large objects a device sends, as a hostile or broken device sends them: hand-written
// chunked Results through the independent test client (test/support/dm-test-client.ts),
// in XML and WBXML (libwbxml converts). Each misuse gets its status code, the Get it
// answered fails with it, nothing half-received lands in the inventory or an operation,
// and no chunk stays buffered.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { hasTool } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { basicCred, child, childrenNamed, type CommandXml, DmTestClient, type Exchange, esc, type ReplyInfo, statusXml, textOf } from '../support/dm-test-client.ts';

const wbxmlTools = hasTool('xml2wbxml', 'libwbxml2-utils') && hasTool('wbxml2xml', 'libwbxml2-utils');
const MAX_OBJ = 50_000;

let server: TestServer;
beforeAll(async () => {
  const defaults = loadConfig({});
  server = await startTestServer({ dm: { ...defaults.dm, maxObjectBytes: MAX_OBJ } });
});

let count = 0;
async function setUp(encoding: 'xml' | 'wbxml') {
  count += 1;
  const device = { id: `lo-hostile-${encoding}-${count}`, username: `lo${count}`, password: `password-${count}` };
  const res = await server.api('/api/v1/devices', { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: device.id, model: 'X100', credentials: { username: device.username, password: device.password, authType: 'basic' } }) });
  expect(res.status).toBe(201);
  const op = await server.api(`/api/v1/devices/${device.id}/operations`, { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ command: 'Get', uri: './Vendor/Log' }) });
  const opId = ((await op.json()) as { id: string }).id;
  const client = new DmTestClient({ url: `${server.url}/dm`, devId: device.id, username: device.username, password: device.password, authType: 'basic', encoding, tree: { './DevDetail/FwV': '1', './DevDetail/SwV': '1', './DevDetail/HwV': '1' } });
  client.startSession();
  const cred = { type: 'syncml:auth-basic', data: basicCred(device.username, device.password) };
  const first = reply(await client.send(client.compose(client.package1().map((p) => p.xml), { cred })));
  const get = first.commands.find((c) => c.name === 'Get' && textOf(child(child(c, 'Item'), 'Target'), 'LocURI') === './Vendor/Log');
  if (!get) throw new Error('the server sent no Get of ./Vendor/Log');
  const msgRef = first.header.msgId;
  const cmdRef = Number(textOf(get, 'CmdID'));
  /** Sends the next message: the header Status, then these commands. */
  const send = async (commands: CommandXml[], final = false, last = first): Promise<ReplyInfo> =>
    reply(await client.send(client.compose([statusXml({ msgRef: last.header.msgId, cmdRef: 0, cmd: 'SyncHdr', code: 200 }), ...commands], { final })));
  const operation = async () => (await (await server.api(`/api/v1/devices/${device.id}/operations/${opId}`, { token: server.tokens.operator })).json()) as { status: string; statusCode?: number; result?: unknown };
  const inventory = async () => ((await (await server.api(`/api/v1/devices/${device.id}`, { token: server.tokens.operator })).json()) as { inventory: Record<string, unknown> }).inventory;
  return { device, client, first, msgRef, cmdRef, send, operation, inventory, getStatus: statusXml({ msgRef, cmdRef, cmd: 'Get', targetRefs: ['./Vendor/Log'], code: 200 }) };
}

function reply(ex: Exchange): ReplyInfo {
  if (!ex.response.reply) throw new Error(`HTTP ${ex.response.httpStatus}: ${Buffer.from(ex.response.body).toString()}`);
  return ex.response.reply;
}

/** One chunk of a Results: Meta/Size when given, MoreData when more follows. */
function chunk(msgRef: number, cmdRef: number, uri: string, data: string, options: { size?: number; more?: boolean } = {}): CommandXml {
  return (cmdId) =>
    `<Results><CmdID>${cmdId}</CmdID><MsgRef>${msgRef}</MsgRef><CmdRef>${cmdRef}</CmdRef><Item><Source><LocURI>${esc(uri)}</LocURI></Source>` +
    `<Meta><Format xmlns="syncml:metinf">chr</Format>${options.size === undefined ? '' : `<Size xmlns="syncml:metinf">${options.size}</Size>`}</Meta>` +
    `<Data>${esc(data)}</Data>${options.more ? '<MoreData/>' : ''}</Item></Results>`;
}

const statusFor = (r: ReplyInfo, cmd: string) => r.statuses.filter((s) => s.cmd === cmd).map((s) => s.code);
const alerts = (r: ReplyInfo) => r.commands.filter((c) => c.name === 'Alert').map((c) => textOf(c, 'Data'));
const bufferedRows = async () => (await server.ctx.db.q.select().from(server.ctx.db.t.dmObjectChunks)).length;

describe.each(['xml', 'wbxml'] as const)('a device sending large objects (%s)', (encoding) => {
  const run = it.skipIf(encoding === 'wbxml' && !wbxmlTools);

  run('puts chunks interleaved with other commands back together, answering 213 to each non-final one', async () => {
    const s = await setUp(encoding);
    const a = 'a'.repeat(900);
    const b = 'b'.repeat(900);
    const r1 = await s.send([s.getStatus, chunk(s.msgRef, s.cmdRef, './Vendor/Log', a, { size: 2000, more: true })]);
    expect(statusFor(r1, 'Results')).toEqual([213]);
    expect(alerts(r1)).toContain('1222');
    // A Generic Alert and a Status between two chunks do not interrupt the object.
    const generic: CommandXml = (cmdId) => `<Alert><CmdID>${cmdId}</CmdID><Data>1226</Data><Item><Source><LocURI>./Vendor/Thing</LocURI></Source><Meta><Type xmlns="syncml:metinf">com.example.event</Type></Meta><Data>1</Data></Item></Alert>`;
    const r2 = await s.send([generic, chunk(s.msgRef, s.cmdRef, './Vendor/Log', b, { more: true })], false, r1);
    expect(statusFor(r2, 'Results')).toEqual([213]);
    expect(statusFor(r2, 'Alert')).toContain(200);
    await s.send([chunk(s.msgRef, s.cmdRef, './Vendor/Log', 'c'.repeat(200))], true, r2);
    expect(await s.operation()).toMatchObject({ status: 'done', statusCode: 200, result: [{ uri: './Vendor/Log', data: a + b + 'c'.repeat(200) }] });
    expect(await bufferedRows()).toBe(0);
  });

  run('refuses a stream that goes past its declared size with 424, and fails the Get', async () => {
    const s = await setUp(encoding);
    let last = s.first;
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) {
      last = await s.send([...(i === 0 ? [s.getStatus] : []), chunk(s.msgRef, s.cmdRef, './Vendor/Log', 'x'.repeat(400), { ...(i === 0 ? { size: 1000 } : {}), more: true })], false, last);
      codes.push(...statusFor(last, 'Results'));
    }
    // 400, 800: buffered; 1200 passes 1000: refused, dropped, the Get failed; the fourth
    // answers a Get no longer awaited: refused (400), nothing buffered for it.
    expect(codes).toEqual([213, 213, 424, 400]);
    expect(await s.operation()).toMatchObject({ status: 'failed', statusCode: 424 });
    expect(await bufferedRows()).toBe(0);
  });

  run('refuses a first chunk with no Meta/Size (424) and one declaring more than MaxObjSize (413, with the limit)', async () => {
    const s = await setUp(encoding);
    const r1 = await s.send([s.getStatus, chunk(s.msgRef, s.cmdRef, './Vendor/Log', 'x'.repeat(100), { more: true })]);
    expect(statusFor(r1, 'Results')).toEqual([424]);
    const t = await setUp(encoding);
    const r2 = await t.send([t.getStatus, chunk(t.msgRef, t.cmdRef, './Vendor/Log', 'x'.repeat(100), { size: MAX_OBJ + 1, more: true })]);
    expect(statusFor(r2, 'Results')).toEqual([413]);
    const refusal = r2.commands.find((c) => c.name === 'Status' && textOf(c, 'Cmd') === 'Results');
    expect(textOf(child(child(refusal, 'Item'), 'Meta'), 'MaxObjSize')).toBe(String(MAX_OBJ));
    expect(await t.operation()).toMatchObject({ status: 'failed', statusCode: 413 });
    expect(await bufferedRows()).toBe(0);
  });

  run('answers 424 when the last chunk leaves the object short of its declared size, storing nothing', async () => {
    const s = await setUp(encoding);
    const r1 = await s.send([s.getStatus, chunk(s.msgRef, s.cmdRef, './Vendor/Log', 'x'.repeat(400), { size: 1000, more: true })]);
    const r2 = await s.send([chunk(s.msgRef, s.cmdRef, './Vendor/Log', 'y'.repeat(300))], true, r1);
    expect(statusFor(r2, 'Results')).toEqual([424]);
    expect(await s.operation()).toMatchObject({ status: 'failed', statusCode: 424 });
    expect(await s.operation()).not.toHaveProperty('result');
    expect(Object.keys(await s.inventory())).not.toContain('./Vendor/Log');
  });

  run('ends an object interrupted by a chunk for another URI with Alert 1225 and buffers nothing for a value never asked for', async () => {
    const s = await setUp(encoding);
    const r1 = await s.send([s.getStatus, chunk(s.msgRef, s.cmdRef, './Vendor/Log', 'x'.repeat(400), { size: 1000, more: true })]);
    const r2 = await s.send([chunk(s.msgRef, s.cmdRef + 50, './Vendor/Other', 'z'.repeat(400), { size: 1000, more: true })], false, r1);
    const interrupted = r2.commands.find((c) => c.name === 'Alert' && textOf(c, 'Data') === '1225');
    expect(textOf(child(child(interrupted, 'Item'), 'Target'), 'LocURI')).toBe('./Vendor/Log');
    expect(statusFor(r2, 'Results')).toEqual([400]);
    expect(await s.operation()).toMatchObject({ status: 'failed', statusCode: 424 });
    expect(await bufferedRows()).toBe(0);
    const inventory = Object.keys(await s.inventory());
    expect(inventory).not.toContain('./Vendor/Log');
    expect(inventory).not.toContain('./Vendor/Other');
  });

  run('drops an object the device ends its package in the middle of (Final after a chunk with MoreData)', async () => {
    const s = await setUp(encoding);
    const r1 = await s.send([s.getStatus, chunk(s.msgRef, s.cmdRef, './Vendor/Log', 'x'.repeat(400), { size: 1000, more: true })], true);
    expect(childrenNamed(r1.root, 'SyncBody').length).toBe(1);
    expect(alerts(r1)).toContain('1225');
    expect(await s.operation()).toMatchObject({ status: 'failed', statusCode: 424 });
    expect(await bufferedRows()).toBe(0);
  });
});

it('sweeps the chunks of a session that goes idle before its object is complete', async () => {
  const s = await setUp('xml');
  await s.send([s.getStatus, chunk(s.msgRef, s.cmdRef, './Vendor/Log', 'x'.repeat(400), { size: 1000, more: true })]);
  expect(await bufferedRows()).toBe(1);
  server.clock.advance(server.ctx.config.dm.sessionIdleMs + 1);
  const { sweepDmSessions } = await import('../../src/dm/session/expire.ts');
  const { DmGuard } = await import('../../src/dm/session/guard.ts');
  await sweepDmSessions(server.ctx, new DmGuard({ addressMaxFailures: 0, lockoutMs: 1 }));
  expect(await bufferedRows()).toBe(0);
  expect(await s.operation()).toMatchObject({ status: 'failed', statusCode: 408 });
});

describe('a value the server sends in chunks', () => {
  it('sends the first chunk with Meta/Size and MoreData, and stops when the device refuses it', async () => {
    count += 1;
    const device = { id: `lo-out-${count}`, username: `lo${count}`, password: `password-${count}` };
    const res = await server.api('/api/v1/devices', { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: device.id, model: 'X100', credentials: { username: device.username, password: device.password, authType: 'basic' } }) });
    expect(res.status).toBe(201);
    const value = 'q'.repeat(10_000);
    const op = await server.api(`/api/v1/devices/${device.id}/operations`, { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ command: 'Replace', uri: './Vendor/Big', data: value }) });
    const opId = ((await op.json()) as { id: string }).id;
    const client = new DmTestClient({ url: `${server.url}/dm`, devId: device.id, username: device.username, password: device.password, authType: 'basic', tree: { './DevDetail/FwV': '1', './DevDetail/SwV': '1', './DevDetail/HwV': '1' } });
    client.startSession();
    const cred = { type: 'syncml:auth-basic', data: basicCred(device.username, device.password) };
    const header = { maxMsgSize: 2000, maxObjSize: 50_000 };
    // The inventory Gets go first; the value, too large for any message, follows alone.
    let last = reply(await client.send(client.compose(client.package1().map((p) => p.xml), { cred, header })));
    const answer = (r: ReplyInfo, extra: CommandXml[] = []) => [statusXml({ msgRef: r.header.msgId, cmdRef: 0, cmd: 'SyncHdr', code: 200 }), ...r.commands.filter((c) => c.name === 'Get').map((g) => statusXml({ msgRef: r.header.msgId, cmdRef: Number(textOf(g, 'CmdID')), cmd: 'Get', code: 404 })), ...extra];
    for (let i = 0; i < 3 && !last.commands.some((c) => c.name === 'Replace'); i++) last = reply(await client.send(client.compose(answer(last), { header })));
    const replace = last.commands.find((c) => c.name === 'Replace');
    const item = child(replace, 'Item');
    expect(textOf(child(item, 'Meta'), 'Size')).toBe('10000');
    expect(child(item, 'MoreData')).toBeDefined();
    expect(last.final).toBe(false);
    // The device cannot store it: 420 (device full) on the first chunk.
    const refuse = statusXml({ msgRef: last.header.msgId, cmdRef: Number(textOf(replace, 'CmdID')), cmd: 'Replace', targetRefs: ['./Vendor/Big'], code: 420 });
    const next = reply(await client.send(client.compose(answer(last, [refuse]), { header })));
    expect(next.commands.some((c) => c.name === 'Replace')).toBe(false);
    expect(next.final).toBe(true);
    const view = (await (await server.api(`/api/v1/devices/${device.id}/operations/${opId}`, { token: server.tokens.operator })).json()) as { status: string; statusCode: number };
    expect(view).toMatchObject({ status: 'failed', statusCode: 420 });
  });
});
