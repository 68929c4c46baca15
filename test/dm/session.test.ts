// Whole OMA DM sessions over real HTTP against a running server, driven by an independent
// test client (test/support/dm-test-client.ts) written from PROTOCOL.md, not from our codec.
import { createServer, type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  alertXml,
  basicCred,
  DmTestClient,
  type DmClientOptions,
  type Exchange,
  macBytes,
  md5Cred,
  messageXml,
  package0DigestOk,
  parsePackage0,
  type ReplyInfo,
  replaceXml,
  statusXml,
  WBXML_TYPE,
  XML_TYPE,
  type XmlNode,
  childrenNamed,
  child,
  textOf,
} from '../support/dm-test-client.ts';
import { awaitingOf } from '../../src/dm/session/state.ts';
import { updateSession } from '../../src/store/queries/devices.ts';
import { hasTool } from '../support/harness.ts';
import { ALLOW_LOOPBACK_WEBHOOKS, startTestServer, type TestServer } from '../support/server.ts';
import { selectRows } from '../support/sql.ts';

const wbxmlTools = hasTool('xml2wbxml', 'libwbxml2-utils') && hasTool('wbxml2xml', 'libwbxml2-utils');

let server: TestServer;
beforeAll(async () => {
  // The Package 0 test's webhook listens on 127.0.0.1.
  server = await startTestServer({}, { env: ALLOW_LOOPBACK_WEBHOOKS });
});

// ---------------------------------------------------------------------------------------
// Helpers

interface Device {
  id: string;
  username: string;
  password: string;
}

let deviceCount = 0;
async function registerDevice(extra: { authType?: 'md5' | 'basic'; serverPassword?: string; webhookUrl?: string } = {}): Promise<Device> {
  deviceCount += 1;
  const device = { id: `IMEI:35${String(Date.now() % 1e6).padStart(6, '0')}${String(deviceCount).padStart(7, '0')}`, username: `dev${deviceCount}`, password: `clientpw-${deviceCount}` };
  const res = await server.api('/api/v1/devices', {
    method: 'POST',
    token: server.tokens.operator,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      id: device.id,
      model: 'X100',
      credentials: { username: device.username, password: device.password, ...(extra.authType ? { authType: extra.authType } : {}) },
      ...(extra.serverPassword ? { serverPassword: extra.serverPassword } : {}),
      ...(extra.webhookUrl ? { webhookUrl: extra.webhookUrl } : {}),
    }),
  });
  expect(res.status).toBe(201);
  return device;
}

const FW = { './DevDetail/FwV': '2.0.7', './DevDetail/SwV': 'sw-5.1', './DevDetail/HwV': 'rev-C' };

function clientFor(device: Device, options: Partial<DmClientOptions> = {}): DmTestClient {
  return new DmTestClient({ url: `${server.url}/dm`, devId: device.id, username: device.username, password: device.password, tree: FW, ...options });
}

async function deviceRecord(id: string) {
  const res = await server.api(`/api/v1/devices/${encodeURIComponent(id)}`, { token: server.tokens.operator });
  expect(res.status).toBe(200);
  return (await res.json()) as { firmwareVersion: string | null; manufacturer: string | null; lastSeen: string | null; inventory: Record<string, { value: string; at: string }> };
}

async function queueOperation(id: string, op: { command: 'Get' | 'Replace' | 'Exec'; uri: string; data?: string }): Promise<string> {
  const res = await server.api(`/api/v1/devices/${encodeURIComponent(id)}/operations`, { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify(op) });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function operation(id: string, opId: string) {
  const res = await server.api(`/api/v1/devices/${encodeURIComponent(id)}/operations/${opId}`, { token: server.tokens.operator });
  expect(res.status).toBe(200);
  return (await res.json()) as { status: string; statusCode?: number; result?: Array<{ uri: string; data: string }> };
}

const sql = <T>(query: string, ...params: unknown[]): Promise<T[]> => selectRows<T>(server.ctx.db, query, ...params);
const sessionRows = (deviceId: string) => sql<Record<string, unknown>>('select * from dm_sessions where device_id = ?', deviceId);

const replyOf = (ex: Exchange | undefined): ReplyInfo => {
  const reply = ex?.response.reply;
  if (!reply) throw new Error(`no SyncML reply (HTTP ${ex?.response.httpStatus}): ${Buffer.from(ex?.response.body ?? []).toString()}`);
  return reply;
};
const commandNames = (reply: ReplyInfo) => reply.commands.map((c) => c.name);

/** A well-formed Package 1 from a basic-auth device: the base the bad-input tests spoil. */
function firstMessage(device: Device, h: Partial<Parameters<typeof messageXml>[0]> = {}): string {
  return messageXml(
    { sessionId: '77', msgId: 1, target: `${server.url}/dm`, source: device.id, cred: { type: 'syncml:auth-basic', data: basicCred(device.username, device.password) }, ...h },
    [alertXml('1201'), replaceXml([{ uri: './DevInfo/DevId', data: device.id }])],
  );
}
const walk = (node: XmlNode): XmlNode[] => [node, ...node.children.flatMap(walk)];
const METINF = new Set(['Type', 'Format', 'Mark', 'Size', 'NextNonce', 'MaxMsgSize', 'MaxObjSize']);

/** PROTOCOL.md traps: xmlns="syncml:metinf" on each MetInf element, never on <Meta>; no text between elements. */
function checkWireShape(reply: ReplyInfo): void {
  for (const node of walk(reply.root)) {
    if (node.name === 'Meta') {
      expect(node.attrs.xmlns).toBeUndefined();
      for (const field of node.children) if (METINF.has(field.name)) expect(field.attrs.xmlns, `<${field.name}>`).toBe('syncml:metinf');
    }
    if (node.children.length > 0) expect(node.text, `text between elements in <${node.name}>`).toBe('');
  }
}
const targetsOf = (cmd: XmlNode) => childrenNamed(cmd, 'Item').map((i) => textOf(child(i, 'Target'), 'LocURI'));
const requestHasCred = (ex: Exchange | undefined) => (ex?.request.xml ?? '').includes('<Cred>');

// ---------------------------------------------------------------------------------------

describe('the test client itself (against PROTOCOL.md vectors, not our code)', () => {
  it('computes the md5 and basic credentials of the vectors', () => {
    expect(basicCred('Bruce2', 'OhBehave')).toBe('QnJ1Y2UyOk9oQmVoYXZl');
    expect(md5Cred('Bruce2', 'OhBehave', Buffer.from('Nonce'))).toBe('Zz6EivR3yeaaENcRN6lpAQ==');
    expect(md5Cred('dev01', 'clientpw', Buffer.from('1234567890abcdef'))).toBe('ts2ATuvghZyIcuyZDaNgbA==');
    expect(md5Cred('dmsrv', 'srvpw', Buffer.from('serverNonce01'))).toBe('tixMcptWgCdZQy6jBTrRgQ==');
    expect(macBytes('dev01', 'clientpw', Buffer.from('1234567890abcdef'), Buffer.from('hello')).toString('base64')).toBe('Gg0JGpcGVfo5xV7hFDHKOQ==');
  });

  it('reads the Package 0 vector', () => {
    const p = parsePackage0(Buffer.from('e3705e2bc555324c29ed776530060e72' + '02e80000001a2b05' + '646d737276', 'hex'));
    expect(p).toMatchObject({ version: 11, uiMode: 2, initiator: 1, futureBits: 0, sessionId: 0x1a2b, serverId: 'dmsrv' });
    expect(package0DigestOk(p, 'srvpw', Buffer.from('serverNonce01'))).toBe(true);
    expect(package0DigestOk(p, 'other', Buffer.from('serverNonce01'))).toBe(false);
  });
});

const encodings = [
  { name: 'XML', contentType: XML_TYPE, wbxml: false },
  { name: 'WBXML (via xml2wbxml/wbxml2xml)', contentType: WBXML_TYPE, wbxml: true },
  { name: 'XML with the DS content type', contentType: 'application/vnd.syncml+xml', wbxml: false },
  { name: 'WBXML with the DS content type', contentType: 'application/vnd.syncml+wbxml', wbxml: true },
] as const;

describe.each(encodings)('a client-initiated session in $name', ({ contentType, wbxml }) => {
  it.skipIf(wbxml && !wbxmlTools)('challenges, authenticates, reads DevDetail, ends, and records the inventory', async () => {
    const device = await registerDevice();
    const client = clientFor(device, { contentType });
    const before = Date.now();
    const outcome = await client.session();
    expect(outcome.end).toBe('completed');
    const [first, second, third, ...rest] = outcome.exchanges;
    expect(rest).toEqual([]);

    for (const ex of outcome.exchanges) {
      checkWireShape(replyOf(ex));
      expect(ex.response.httpStatus).toBe(200);
      expect(ex.response.contentType).toBe(contentType); // answered in the request's encoding
      if (wbxml) expect(ex.response.body[0]).not.toBe(0x3c); // bytes, not '<'
    }

    // 1. No Cred: 407 with a Chal, and a 407 Status for every command, nothing else.
    expect(requestHasCred(first)).toBe(false);
    const r1 = replyOf(first);
    expect(r1.header).toMatchObject({ verDTD: '1.2', verProto: 'DM/1.2', sessionId: client.sessionId, msgId: 1, target: device.id });
    expect(r1.headerStatus).toMatchObject({ msgRef: 1, cmdRef: 0, cmd: 'SyncHdr', code: 407, targetRefs: [`${server.url}/dm`], sourceRefs: [device.id] });
    expect(r1.headerStatus?.chal).toMatchObject({ type: 'syncml:auth-md5', format: 'b64' });
    const nonce1 = Buffer.from(r1.headerStatus?.chal?.nextNonce ?? '', 'base64');
    expect([15, 16, 18]).toContain(nonce1.length); // lengths every known client decodes
    expect(commandNames(r1).every((n) => n === 'Status')).toBe(true);
    expect(r1.statuses.filter((s) => s.cmdRef !== 0).map((s) => [s.msgRef, s.cmdRef, s.cmd, s.code])).toEqual([
      [1, 1, 'Alert', 407],
      [1, 2, 'Replace', 407],
    ]);
    // An unauthenticated message gets no session: nothing is stored, no token handed out.
    expect(r1.header.respUri).toBeUndefined();

    // 2. Cred over that nonce: 212 with the next nonce and the session's RespURI, then Gets of DevDetail.
    expect(requestHasCred(second)).toBe(true);
    expect(second?.request.url).toBe(`${server.url}/dm`);
    expect(second?.request.xml).toContain(`<Data>${md5Cred(device.username, device.password, nonce1)}</Data>`);
    const r2 = replyOf(second);
    expect(r2.header.msgId).toBe(2);
    expect(r2.headerStatus).toMatchObject({ msgRef: 2, code: 212 });
    expect(r2.header.respUri).toMatch(new RegExp(`^${server.url}/dm\\?s=dms_[0-9a-z]{9}[A-Za-z0-9_-]{24}$`));
    const nonce2 = r2.headerStatus?.chal?.nextNonce;
    expect(nonce2).toBeDefined();
    expect(nonce2).not.toBe(r1.headerStatus?.chal?.nextNonce);
    expect(r2.statuses.filter((s) => s.cmdRef !== 0).map((s) => [s.msgRef, s.cmd, s.code])).toEqual([
      [2, 'Alert', 200],
      [2, 'Replace', 200],
    ]);
    const gets = r2.commands.filter((c) => c.name === 'Get');
    expect(gets.flatMap(targetsOf).sort()).toEqual(['./DevDetail/FwV', './DevDetail/HwV', './DevDetail/SwV']);
    expect(r2.final).toBe(true);
    // CmdIDs in a message are unique and never 0.
    const ids = r2.commands.map((c) => Number(textOf(c, 'CmdID')));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).not.toContain(0);

    // 3. The client's Results, at the RespURI with no Cred: the server ends with Statuses and Final only.
    expect(requestHasCred(third)).toBe(false);
    expect(third?.request.url).toBe(r2.header.respUri);
    expect(third?.request.xml).toContain('<Results>');
    const r3 = replyOf(third);
    expect(r3.header.msgId).toBe(3);
    expect(r3.headerStatus).toMatchObject({ msgRef: 3, code: 200 });
    expect(commandNames(r3).every((n) => n === 'Status')).toBe(true);
    expect(r3.final).toBe(true);

    const record = await deviceRecord(device.id);
    expect(record.firmwareVersion).toBe('2.0.7');
    expect(record.manufacturer).toBe('Acme');
    expect(record.inventory).toMatchObject({
      './DevDetail/FwV': { value: '2.0.7' },
      './DevDetail/SwV': { value: 'sw-5.1' },
      './DevDetail/HwV': { value: 'rev-C' },
      './DevInfo/Mod': { value: 'X100' },
      './DevInfo/Lang': { value: 'en-US' },
    });
    expect(Date.parse(record.lastSeen ?? '')).toBeGreaterThanOrEqual(before - 1000);
    expect(await sessionRows(device.id)).toEqual([expect.objectContaining({ state: 'ended' })]);
  });
});

const twoEncodings = encodings.slice(0, 2);

describe.each(twoEncodings)('device operations over DM in $name', ({ contentType, wbxml }) => {
  it.skipIf(wbxml && !wbxmlTools)('sends queued Replace, Get and Exec in the next session and keeps their Status and Results', async () => {
    const device = await registerDevice();
    const client = clientFor(device, { contentType, tree: { ...FW, './Vendor/Serial': 'SN-4711' } });
    expect((await client.session()).end).toBe('completed');

    const replaceId = await queueOperation(device.id, { command: 'Replace', uri: './Vendor/Config/Mode', data: 'eco <&> "quoted"' });
    const getId = await queueOperation(device.id, { command: 'Get', uri: './Vendor/Serial' });
    const missingId = await queueOperation(device.id, { command: 'Get', uri: './Vendor/Nope' });
    const execId = await queueOperation(device.id, { command: 'Exec', uri: './FUMO/fw1/DownloadAndUpdate' });
    expect(await operation(device.id, getId)).toMatchObject({ status: 'queued' });

    const outcome = await client.session();
    expect(outcome.end).toBe('completed');
    // The inventory is fresh: the second session carries only the operator's commands.
    const sent = outcome.exchanges.flatMap((ex) => ex.response.reply?.commands ?? []).filter((c) => c.name !== 'Status');
    // (Order is not asserted: operations queued within one millisecond tie on createdAt.)
    expect(sent.map((c) => `${c.name} ${targetsOf(c)[0]}`).sort()).toEqual(['Exec ./FUMO/fw1/DownloadAndUpdate', 'Get ./Vendor/Nope', 'Get ./Vendor/Serial', 'Replace ./Vendor/Config/Mode']);
    expect(client.tree.get('./Vendor/Config/Mode')).toBe('eco <&> "quoted"');

    expect(await operation(device.id, replaceId)).toMatchObject({ status: 'done', statusCode: 200 });
    const get = await operation(device.id, getId);
    expect(get).toMatchObject({ status: 'done', statusCode: 200 });
    expect(get.result).toEqual([expect.objectContaining({ uri: './Vendor/Serial', data: 'SN-4711' })]);
    expect(await operation(device.id, missingId)).toMatchObject({ status: 'failed', statusCode: 404 });
    expect(await operation(device.id, execId)).toMatchObject({ statusCode: 202 });
  });

  it.skipIf(wbxml && !wbxmlTools)('spreads a large package over messages within the client MaxMsgSize, asked for with Alert 1222', async () => {
    const device = await registerDevice();
    const maxMsgSize = 2000;
    const client = clientFor(device, { contentType, maxMsgSize });
    const ops: Array<{ id: string; uri: string; data: string }> = [];
    for (let i = 0; i < 40; i++) {
      const uri = `./Vendor/Blob/${i}`;
      const data = `${i}:`.padEnd(300, String.fromCharCode(97 + (i % 26)));
      ops.push({ id: await queueOperation(device.id, { command: 'Replace', uri, data }), uri, data });
    }

    const outcome = await client.session();
    expect(outcome.end).toBe('completed');
    const replies = outcome.exchanges.map(replyOf);
    expect(replies.length).toBeGreaterThan(10);
    for (const [i, ex] of outcome.exchanges.entries()) {
      expect(ex.response.body.length).toBeLessThanOrEqual(maxMsgSize);
      expect(replies[i]?.header.msgId).toBe(i + 1);
    }
    // After the challenge: every message but the last leaves Final out, and the client asks for the next with 1222.
    // Between the challenge and the closing message (Statuses only) lies one package of
    // many messages: every one but the last leaves Final out.
    const pkg = replies.slice(1, -1);
    expect(pkg.slice(0, -1).every((r) => !r.final)).toBe(true);
    expect(pkg.at(-1)?.final).toBe(true);
    expect(commandNames(replyOf(outcome.exchanges.at(-1))).every((n) => n === 'Status')).toBe(true);
    for (let i = 2; i < outcome.exchanges.length; i++) {
      const asked = (outcome.exchanges[i]?.request.xml ?? '').includes('<Data>1222</Data>');
      expect(asked).toBe(!replies[i - 1]?.final);
    }
    const replaced = replies.flatMap((r) => r.commands.filter((c) => c.name === 'Replace').flatMap(targetsOf));
    expect([...replaced].sort()).toEqual(ops.map((o) => o.uri).sort());

    for (const op of ops) {
      expect(client.tree.get(op.uri)).toBe(op.data);
      expect(await operation(device.id, op.id)).toMatchObject({ status: 'done', statusCode: 200 });
    }
    expect((await deviceRecord(device.id)).firmwareVersion).toBe('2.0.7');
  });
});

describe('an interrupted package', () => {
  it('keeps operations the server had no room for queued when the device aborts, and sends them in the next session', async () => {
    const device = await registerDevice({ authType: 'basic' });
    const client = clientFor(device, { authType: 'basic', maxMsgSize: 2500 });
    const ops: string[] = [];
    for (let i = 0; i < 6; i++) ops.push(await queueOperation(device.id, { command: 'Replace', uri: `./Vendor/Big/${i}`, data: 'x'.repeat(600) }));

    client.startSession();
    const first = replyOf(await client.send(client.compose(client.package1().map((p) => p.xml), { cred: client.credential() })));
    expect(first.final).toBe(false);
    const sentFirst = first.commands.filter((c) => c.name === 'Replace').flatMap(targetsOf);
    expect(sentFirst.length).toBeGreaterThan(0);
    expect(sentFirst.length).toBeLessThan(6);
    // The device answers what it got, then aborts (Alert 1223) instead of asking for more.
    const answers = client.replyTo(first).slice(0, -1);
    const closing = replyOf(await client.send(client.compose([...answers, alertXml('1223')])));
    expect(closing.final && closing.commands.every((c) => c.name === 'Status')).toBe(true);

    const states = await Promise.all(ops.map(async (id) => (await operation(device.id, id)).status));
    expect(states).toEqual(ops.map((_id, i) => (sentFirst.includes(`./Vendor/Big/${i}`) ? 'done' : 'queued')));

    expect((await client.session()).end).toBe('completed');
    for (const id of ops) expect(await operation(device.id, id)).toMatchObject({ status: 'done', statusCode: 200 });
    expect([...client.tree.keys()].filter((k) => k.startsWith('./Vendor/Big/'))).toHaveLength(6);
  });

  // Large objects (MoreData) are not built: a command that fits no message the device
  // accepts fails with 413 instead of being retried in Statuses-only messages for ever.
  it('fails an operation larger than the device MaxMsgSize with 413, sends the rest, and ends the session', async () => {
    const device = await registerDevice();
    const maxMsgSize = 2000;
    const client = clientFor(device, { maxMsgSize });
    const huge = await queueOperation(device.id, { command: 'Replace', uri: './Vendor/Huge', data: 'y'.repeat(4 * maxMsgSize) });
    const small = await queueOperation(device.id, { command: 'Replace', uri: './Vendor/Small', data: 'fits' });

    const outcome = await client.session();
    expect(outcome.end).toBe('completed');
    for (const ex of outcome.exchanges) expect(ex.response.body.length).toBeLessThanOrEqual(maxMsgSize);
    const replaced = outcome.exchanges.map(replyOf).flatMap((r) => r.commands.filter((c) => c.name === 'Replace').flatMap(targetsOf));
    expect(replaced).toEqual(['./Vendor/Small']);
    expect(await operation(device.id, huge)).toMatchObject({ status: 'failed', statusCode: 413 });
    expect(await operation(device.id, small)).toMatchObject({ status: 'done', statusCode: 200 });
    expect(client.tree.has('./Vendor/Huge')).toBe(false);
    expect(client.tree.get('./Vendor/Small')).toBe('fits');
  });
});

describe('generic alerts', () => {
  it('acknowledges a FUMO Generic Alert in Package 1 and records it', async () => {
    const device = await registerDevice();
    const alert = alertXml(
      '1226',
      [{ source: './FUMO/fw1/DownloadAndUpdate', type: 'Reversed-Domain-Name: org.openmobilealliance.dm.firmwareupdate.downloadandupdate', format: 'int', mark: 'critical', data: '410' }],
      'job-42',
    );
    const outcome = await clientFor(device).session({ extra: [alert] });
    expect(outcome.end).toBe('completed');
    const authed = replyOf(outcome.exchanges[1]);
    expect(authed.statuses.filter((s) => s.cmdRef !== 0).map((s) => [s.cmdRef, s.cmd, s.code])).toEqual([
      // CmdID 1 of the resent Package 1 is the client's Status for the challenge.
      [2, 'Alert', 200],
      [3, 'Replace', 200],
      [4, 'Alert', 200],
    ]);
    const rows = await sql<{ details: string }>('select details from audit_events where action = ? and subject = ?', 'dm.generic-alert', device.id);
    expect(rows.map((r) => JSON.parse(r.details))).toEqual([
      expect.objectContaining({ type: 'org.openmobilealliance.dm.firmwareupdate.downloadandupdate', data: '410', correlator: 'job-42', mark: 'critical', source: './FUMO/fw1/DownloadAndUpdate' }),
    ]);
  });
});

describe('authentication', () => {
  it('refuses a bad password: one more challenge, then 401 alone; stores no inventory and audits', async () => {
    const device = await registerDevice();
    const client = clientFor(device, { password: 'wrong-password' });
    const outcome = await client.session();
    expect(outcome.end).toBe('auth-failed');
    const replies = outcome.exchanges.map(replyOf);
    expect(replies.map((r) => r.headerStatus?.code)).toEqual([407, 401, 401]);
    expect(replies[1]?.headerStatus?.chal?.nextNonce).toBeDefined();
    expect(replies[1]?.headerStatus?.chal?.nextNonce).not.toBe(replies[0]?.headerStatus?.chal?.nextNonce);
    expect(replies[2]?.headerStatus?.chal).toBeUndefined();
    for (const r of replies.slice(1)) {
      expect(r.statuses.filter((s) => s.cmd === 'Alert' || s.cmd === 'Replace').map((s) => s.code)).toEqual([401, 401]);
      expect(commandNames(r).every((n) => n === 'Status')).toBe(true);
    }

    const record = await deviceRecord(device.id);
    expect(record.inventory).toEqual({});
    expect(record.manufacturer).toBeNull();
    expect(record.firmwareVersion).toBeNull();
    expect((await sql('select * from audit_events where action = ? and subject = ?', 'dm.auth-failed', device.id)).length).toBeGreaterThanOrEqual(1);

    // The right password works in a new session: failures of an earlier session do not stick.
    expect((await clientFor(device).session()).end).toBe('completed');
  });

  it('refuses a replayed Cred: the same digest over the old nonce in a new session', async () => {
    const device = await registerDevice();
    const client = clientFor(device);
    const first = await client.session();
    expect(first.end).toBe('completed');
    const oldNonce = Buffer.from(replyOf(first.exchanges[0]).headerStatus?.chal?.nextNonce ?? '', 'base64');
    const oldDigest = md5Cred(device.username, device.password, oldNonce);
    expect(first.exchanges[1]?.request.xml).toContain(oldDigest);

    client.clientNonce = oldNonce; // the attacker's copy of the Cred
    const replay = await client.session();
    expect(replay.exchanges[0]?.request.xml).toContain(oldDigest);
    expect(replyOf(replay.exchanges[0]).headerStatus?.code).toBe(401);
    expect(replyOf(replay.exchanges[0]).commands.every((c) => c.name === 'Status')).toBe(true);
    // The honest device gets a fresh nonce in that challenge and goes on.
    expect(replay.end).toBe('completed');
  });

  it('authenticates a basic-auth device with B64(name:password)', async () => {
    const device = await registerDevice({ authType: 'basic' });
    const client = clientFor(device, { authType: 'basic' });
    const outcome = await client.session();
    expect(outcome.end).toBe('completed');
    const first = outcome.exchanges[0];
    expect(first?.request.xml).toContain('syncml:auth-basic');
    expect(first?.request.xml).toContain(`<Data>${Buffer.from(`${device.username}:${device.password}`).toString('base64')}</Data>`);
    expect(replyOf(first).headerStatus?.code).toBe(212);
    expect((await deviceRecord(device.id)).firmwareVersion).toBe('2.0.7');
  });

  it('does not let a digest device fall back to basic (its password would travel in the clear)', async () => {
    const device = await registerDevice();
    const outcome = await clientFor(device, { authType: 'basic' }).session();
    const refused = replyOf(outcome.exchanges[0]);
    expect(refused.headerStatus?.code).toBe(401);
    expect(refused.headerStatus?.chal?.type).toBe('syncml:auth-md5');
    expect(refused.commands.every((c) => c.name === 'Status')).toBe(true);
    expect(await sql('select * from audit_events where action = ? and subject = ?', 'dm.auth-failed', device.id)).toHaveLength(1);
    // The client follows the Chal to md5 and gets in; the basic attempt stored nothing.
    expect(outcome.end).toBe('completed');
    expect(outcome.exchanges[1]?.request.xml).toContain('syncml:auth-md5');
  });

  it('refuses an unknown device with 403 and keeps no session for it', async () => {
    const client = new DmTestClient({ url: `${server.url}/dm`, devId: 'IMEI:000000000000001', username: 'ghost', password: 'ghost-password', authType: 'basic' });
    const outcome = await client.session();
    expect(outcome.end).toBe('refused');
    const reply = replyOf(outcome.exchanges[0]);
    expect(reply.headerStatus?.code).toBe(403);
    expect(reply.statuses.filter((s) => s.cmdRef !== 0).map((s) => s.code)).toEqual([403, 403]);
    expect(reply.commands.every((c) => c.name === 'Status')).toBe(true);
    expect(await sessionRows('IMEI:000000000000001')).toEqual([]);
  });
});

describe('server authentication', () => {
  it.each([
    ['with', 'server-secret-2'],
    ['without', undefined],
  ])('ignores a device NextNonce that is not base64 (device %s a server password): SyncML reply, nothing stored', async (_label, serverPassword) => {
    const device = await registerDevice(serverPassword ? { serverPassword } : {});
    const client = clientFor(device, serverPassword ? { serverPassword } : {});
    client.startSession();
    const pkg1 = client.package1().map((p) => p.xml);
    const challenge = replyOf(await client.send(client.compose(pkg1)));
    client.clientNonce = Buffer.from(challenge.headerStatus?.chal?.nextNonce ?? '', 'base64');
    const badChal = statusXml({ msgRef: 1, cmdRef: 0, cmd: 'SyncHdr', targetRefs: [device.id], sourceRefs: [`${server.url}/dm`], chal: { type: 'syncml:auth-md5', nextNonce: '!!not base64!!' }, code: 401 });
    const ex = await client.send(client.compose([badChal, ...pkg1], { cred: client.credential() }));
    expect(ex.response.httpStatus).toBe(200);
    expect(replyOf(ex).headerStatus?.code).toBe(212);
    expect(await sql<{ server_nonce: string | null }>('select server_nonce from devices where id = ?', device.id)).toEqual([{ server_nonce: null }]);
    // Package 0 needs a usable server nonce: a stored bad one would break notify for good.
    const notify = await server.api(`/api/v1/devices/${encodeURIComponent(device.id)}/notify`, { method: 'POST', token: server.tokens.operator });
    expect(notify.status).toBe(200);
  });
});

describe('clients that ignore RespURI', () => {
  it('continue their session at the plain URL, matched by DevId and SessionID', async () => {
    const device = await registerDevice();
    const client = clientFor(device, { followRespUri: false });
    const outcome = await client.session();
    expect(outcome.end).toBe('completed');
    expect(outcome.exchanges.map((e) => e.request.url)).toEqual(outcome.exchanges.map(() => `${server.url}/dm`));
    expect((await deviceRecord(device.id)).firmwareVersion).toBe('2.0.7');
    expect(await sessionRows(device.id)).toEqual([expect.objectContaining({ state: 'ended' })]);

    // Another device cannot step into that session by naming its SessionID.
    const other = await registerDevice();
    const intruder = clientFor(other, { followRespUri: false });
    const attempt = await intruder.session({ sessionId: client.sessionId });
    expect(replyOf(attempt.exchanges[0]).headerStatus?.code).toBe(407);
    expect(await sessionRows(device.id)).toHaveLength(1);
  });
});

describe('message order', () => {
  it('answers a repeated MsgID with the identical reply and an out-of-order MsgID with 400', async () => {
    const device = await registerDevice();
    const client = clientFor(device);
    client.startSession();
    const pkg1 = client.package1().map((p) => p.xml);
    const challenge = replyOf(await client.send(client.compose(pkg1)));
    expect(challenge.headerStatus?.code).toBe(407);
    client.clientNonce = Buffer.from(challenge.headerStatus?.chal?.nextNonce ?? '', 'base64');
    const authed = await client.send(client.compose(pkg1, { cred: client.credential() }));
    expect(replyOf(authed).headerStatus?.code).toBe(212);
    const row = (await sessionRows(device.id))[0];

    // The reply was lost; the client sends the same message again.
    const again = await client.resendLast();
    expect(again.response.httpStatus).toBe(200);
    expect(Buffer.from(again.response.body).equals(Buffer.from(authed.response.body))).toBe(true);
    expect((await sessionRows(device.id))[0]).toEqual(row);

    // MsgID 3 skipped: 400 in the header Status, and the session is untouched.
    client.nextMsgId += 1;
    const skipped = replyOf(await client.send(client.compose([alertXml('1222')])));
    expect(skipped.headerStatus?.code).toBe(400);
    expect((await sessionRows(device.id))[0]).toEqual(row);
  });
});

describe('lost replies', () => {
  it('sends the closing message again, identical, when the client repeats its last message', async () => {
    const device = await registerDevice();
    const client = clientFor(device);
    const outcome = await client.session();
    expect(outcome.end).toBe('completed');
    const closing = outcome.exchanges.at(-1);
    const row = (await sessionRows(device.id))[0];
    const again = await client.resendLast();
    expect(again.response.httpStatus).toBe(200);
    expect(Buffer.from(again.response.body).toString()).toBe(Buffer.from(closing?.response.body ?? []).toString());
    expect(await sessionRows(device.id)).toEqual([row]);

    // A new message in that ended session is refused (408): the device starts a new session.
    const late = replyOf(await client.send(client.compose([alertXml('1222')])));
    expect(late.headerStatus?.code).toBe(408);
    expect(await sessionRows(device.id)).toEqual([row]);
  });

  it('resends the reply a server before this one kept, and goes on with the awaited commands it kept (a server upgraded mid-session)', async () => {
    const device = await registerDevice();
    const getId = await queueOperation(device.id, { command: 'Get', uri: './DevDetail/SwV' });
    const client = clientFor(device);
    const authed = (await client.session({ maxMessages: 2 })).exchanges.at(-1);
    const reply = replyOf(authed);
    expect(commandNames(reply)).toContain('Get');
    const [row] = await sessionRows(device.id);
    if (!row) throw new Error('no session row');
    // This server keeps the XML reply as its text and the awaited commands compact; the
    // one before kept base64 and an object of named fields per command.
    expect(String(row.last_reply)).toMatch(/^xml:<\?xml /);
    expect(String(row.awaiting)).toMatch(/^\[\[/);
    const before = { lastReply: Buffer.from(authed?.response.body ?? []).toString('base64'), awaiting: JSON.stringify(awaitingOf(String(row.awaiting))) };
    await server.ctx.db.transaction((tx) => updateSession(tx, String(row.id), before));

    const again = await client.resendLast();
    expect(again.response.httpStatus).toBe(200);
    expect(Buffer.from(again.response.body).equals(Buffer.from(authed?.response.body ?? []))).toBe(true);
    expect((await sessionRows(device.id))[0]).toMatchObject({ last_reply: before.lastReply, awaiting: before.awaiting });

    // The device answers the Gets: each Status and Results finds the command it answers.
    const closing = replyOf(await client.send(client.compose(client.replyTo(reply))));
    expect(closing.final).toBe(true);
    expect(commandNames(closing).filter((n) => n !== 'Status')).toEqual([]);
    expect(await operation(device.id, getId)).toMatchObject({ status: 'done', statusCode: 200, result: [expect.objectContaining({ uri: './DevDetail/SwV', data: 'sw-5.1' })] });
    expect((await deviceRecord(device.id)).firmwareVersion).toBe('2.0.7');
    expect(await sessionRows(device.id)).toEqual([expect.objectContaining({ state: 'ended', awaiting: '[]' })]);
  });

  it('sends the final refusal again, identical, when a failed client repeats its last message', async () => {
    const device = await registerDevice();
    const client = clientFor(device, { password: 'wrong-password' });
    const outcome = await client.session();
    expect(outcome.end).toBe('auth-failed');
    const again = await client.resendLast();
    expect(Buffer.from(again.response.body).toString()).toBe(Buffer.from(outcome.exchanges.at(-1)?.response.body ?? []).toString());
  });
});

describe('a client package over several messages', () => {
  it('asks the client for the rest of its package with Alert 1222 and sends its commands after the last', async () => {
    const device = await registerDevice({ authType: 'basic' });
    const client = clientFor(device, { authType: 'basic' });
    client.startSession();
    const [alert, devInfo] = client.package1().map((p) => p.xml);
    if (!alert || !devInfo) throw new Error('no Package 1');
    const part1 = await client.send(client.compose([alert], { cred: client.credential(), final: false }));
    const r1 = replyOf(part1);
    expect(r1.headerStatus?.code).toBe(212);
    expect(r1.final).toBe(false);
    const asks = r1.commands.filter((c) => c.name === 'Alert');
    expect(asks.map((a) => textOf(a, 'Data'))).toEqual(['1222']);
    expect(r1.commands.filter((c) => !['Status', 'Alert'].includes(c.name))).toEqual([]);

    const part2 = await client.send(client.compose([...client.replyTo(r1), devInfo]));
    const r2 = replyOf(part2);
    expect(r2.statuses.find((s) => s.cmd === 'Replace')).toMatchObject({ msgRef: 2, code: 200 });
    expect(r2.commands.filter((c) => c.name === 'Get').flatMap(targetsOf).sort()).toEqual(['./DevDetail/FwV', './DevDetail/HwV', './DevDetail/SwV']);
    const r3 = replyOf(await client.send(client.compose(client.replyTo(r2))));
    expect(r3.final && r3.commands.every((c) => c.name === 'Status')).toBe(true);
    expect(await deviceRecord(device.id)).toMatchObject({ manufacturer: 'Acme', firmwareVersion: '2.0.7' });
  });
});

describe('bad input over HTTP', () => {
  let device: Device;
  beforeAll(async () => {
    device = await registerDevice({ authType: 'basic' });
  });
  const valid = (h: Partial<Parameters<typeof messageXml>[0]> = {}) => firstMessage(device, h);
  const post = (body: string | Uint8Array | ReadableStream, contentType = XML_TYPE) =>
    fetch(`${server.url}/dm`, { method: 'POST', headers: { 'content-type': contentType }, body, duplex: 'half' } as RequestInit);
  const headerCode = async (res: Response) => {
    expect(res.status).toBe(200);
    const reply = (await res.text()).match(/<Status><CmdID>1<\/CmdID><MsgRef>1<\/MsgRef><CmdRef>0<\/CmdRef>[\s\S]*?<Data>(\d+)<\/Data>/);
    return Number(reply?.[1]);
  };

  it('answers malformed XML with HTTP 400', async () => {
    expect((await post('<SyncML><SyncHdr><VerDTD>1.2</VerDTD>')).status).toBe(400);
    expect((await post(valid().replace('</SyncHdr>', ''))).status).toBe(400);
    expect(await sessionRows(device.id)).toEqual([]);
  });

  it('answers an unknown content type with HTTP 415', async () => {
    for (const type of ['text/xml', 'application/json', 'application/vnd.syncml.dm+json', '']) {
      expect((await post(valid(), type)).status).toBe(415);
    }
    expect(await sessionRows(device.id)).toEqual([]);
  });

  it('answers a body over the limit with HTTP 413, with or without Content-Length', async () => {
    const big = valid().replace('<SyncBody>', `<SyncBody><!--${'x'.repeat(300 * 1024)}-->`);
    expect((await post(big)).status).toBe(413);
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 40; i++) controller.enqueue(new Uint8Array(8 * 1024).fill(0x20));
        controller.close();
      },
    });
    expect((await post(chunked)).status).toBe(413);
    expect(await sessionRows(device.id)).toEqual([]);
  });

  it('answers VerDTD 1.1 with 505 and a wrong VerProto with 513 in the header Status', async () => {
    expect(await headerCode(await post(valid({ verDTD: '1.1' })))).toBe(505);
    expect(await headerCode(await post(valid({ verProto: 'DM/1.1' })))).toBe(513);
    expect(await headerCode(await post(valid({ verProto: 'SyncML/1.2' })))).toBe(513);
    expect(await sessionRows(device.id)).toEqual([]);
  });

  it('answers a message without SessionID with HTTP 400', async () => {
    expect((await post(valid({ sessionId: null }))).status).toBe(400);
    expect(await sessionRows(device.id)).toEqual([]);
  });

  it('still runs a proper session for that device afterwards', async () => {
    expect((await post(valid())).status).toBe(200);
    expect(await sessionRows(device.id)).toHaveLength(1);
  });
});

describe('the DM endpoint on the Node server (answered before the Hono app)', () => {
  let device: Device;
  beforeAll(async () => {
    device = await registerDevice({ authType: 'basic' });
  });
  const valid = (h: Partial<Parameters<typeof messageXml>[0]> = {}) => firstMessage(device, h);
  const post = (body: string) => fetch(`${server.url}/dm`, { method: 'POST', headers: { 'content-type': XML_TYPE }, body });
  const headerCode = async (res: Response) => {
    expect(res.status).toBe(200);
    const reply = (await res.text()).match(/<Status><CmdID>1<\/CmdID><MsgRef>1<\/MsgRef><CmdRef>0<\/CmdRef>[\s\S]*?<Data>(\d+)<\/Data>/);
    return Number(reply?.[1]);
  };

  it('answers every DM message with a request id (the client\'s when it is sane) and counts it under /dm in /metrics', async () => {
    const counted = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      return Number(text.match(/fota_http_requests_total\{[^}]*route="\/dm"[^}]*status="415"[^}]*\} (\d+)/)?.[1] ?? 0);
    };
    const before = await counted();
    const mine = await fetch(`${server.url}/dm`, { method: 'POST', headers: { 'content-type': 'text/xml', 'x-request-id': 'probe-42' }, body: valid() });
    expect(mine.status).toBe(415);
    expect(mine.headers.get('x-request-id')).toBe('probe-42');
    const insane = await fetch(`${server.url}/dm`, { method: 'POST', headers: { 'content-type': 'text/xml', 'x-request-id': 'no spaces allowed' }, body: valid() });
    expect(insane.headers.get('x-request-id')).toMatch(/^[0-9a-f]{16}$/);
    const answered = await post(valid({ sessionId: '78' }));
    expect(answered.status).toBe(200);
    expect(answered.headers.get('x-request-id')).toMatch(/^[0-9a-f]{16}$/);
    expect(answered.headers.get('x-request-id')).not.toBe(insane.headers.get('x-request-id'));
    expect(await counted()).toBe(before + 2);
  });

  it('keeps answering after a client hangs up in the middle of a DM message', async () => {
    const { port } = new URL(server.url);
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/dm', headers: { 'content-type': XML_TYPE, 'content-length': '5000' } });
      req.on('error', () => resolve());
      req.write('<SyncML><SyncHdr>', () => setTimeout(() => req.destroy(), 50));
      req.on('close', () => resolve());
      req.on('response', () => reject(new Error('answered a message it never fully received')));
    });
    expect(await headerCode(await post(valid({ sessionId: '79' })))).toBe(212);
    expect(await sessionRows(device.id)).not.toEqual([]);
  });

});

describe('Package 0', () => {
  it('POSTs a notification naming the server to the device webhook; the device can check it and open the session', async () => {
    const received: Array<{ headers: IncomingHttpHeaders; body: Buffer; url: string }> = [];
    const hook = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(parts), url: req.url ?? '' });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => hook.close(() => resolve())));
    const port = (hook.address() as AddressInfo).port;

    const serverPassword = 'server-secret-1';
    const device = await registerDevice({ serverPassword, webhookUrl: `http://127.0.0.1:${port}/push?op=acme` });
    const client = clientFor(device, { serverPassword, serverId: 'fota' });
    // A first session: the device issues the server nonce the notification digest uses.
    const first = await client.session();
    expect(first.end).toBe('completed');
    expect(replyOf(first.exchanges[1]).header.cred?.type).toBe('syncml:auth-md5');
    expect(client.serverNonce).toBeDefined();

    const res = await server.api(`/api/v1/devices/${encodeURIComponent(device.id)}/notify`, { method: 'POST', token: server.tokens.operator });
    expect(res.status).toBe(200);
    const outcome = (await res.json()) as { delivered: boolean; sessionId: string };
    expect(outcome.delivered).toBe(true);

    expect(received).toHaveLength(1);
    const push = received[0];
    expect(push?.url).toBe('/push?op=acme');
    expect(push?.headers['content-type']).toBe('application/vnd.syncml.notification');
    const p0 = parsePackage0(push?.body ?? Buffer.alloc(0));
    expect(p0).toMatchObject({ serverId: 'fota', initiator: 1, futureBits: 0, version: 11, vendor: Buffer.alloc(0) });
    expect(p0.sessionId.toString(16).toUpperCase()).toBe(outcome.sessionId);
    expect(package0DigestOk(p0, serverPassword, client.serverNonce ?? new Uint8Array(0))).toBe(true);

    const session = await client.session({ alert: '1200', sessionId: outcome.sessionId });
    expect(session.end).toBe('completed');
    expect(session.exchanges[0]?.request.xml).toContain('<Data>1200</Data>');
    expect(replyOf(session.exchanges[0]).header.sessionId).toBe(outcome.sessionId);
  });

  it('wakes a device that never gave the server a nonce with the empty nonce, and keeps none it made up', async () => {
    const received: Buffer[] = [];
    const hook = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        received.push(Buffer.concat(parts));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => hook.close(() => resolve())));
    const serverPassword = 'server-secret-2';
    const device = await registerDevice({ serverPassword, webhookUrl: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/push` });

    const res = await server.api(`/api/v1/devices/${encodeURIComponent(device.id)}/notify`, { method: 'POST', token: server.tokens.operator });
    expect(res.status).toBe(200);
    const p0 = parsePackage0(received[0] ?? Buffer.alloc(0));
    expect(package0DigestOk(p0, serverPassword, new Uint8Array(0))).toBe(true);
    expect(await sql('select server_nonce from devices where id = ?', device.id)).toEqual([{ server_nonce: null }]);

    // The first session: the server's Cred is over the nonce the device holds, the empty one
    // (a nonce invented for Package 0 would make the device refuse the server).
    const outcome = await clientFor(device, { serverPassword, serverId: 'fota' }).session({ alert: '1200' });
    const firstCred = outcome.exchanges.map((e) => e.response.reply?.header.cred).find((c) => c !== undefined);
    expect(firstCred?.data).toBe(md5Cred('fota', serverPassword, new Uint8Array(0)));
  });
});

describe('last seen', () => {
  // Last in this file: it moves the server's clock on.
  it('is the time of the last message to the minute: a message that changes nothing else of the device writes it once a minute', async () => {
    const device = await registerDevice({ authType: 'basic' });
    const client = clientFor(device, { authType: 'basic', maxMsgSize: 2500 });
    expect((await client.session()).end).toBe('completed'); // the inventory is read: later messages report nothing
    for (let i = 0; i < 6; i++) await queueOperation(device.id, { command: 'Replace', uri: `./Vendor/Seen/${i}`, data: 'x'.repeat(600) });
    const seen = async () => Date.parse((await deviceRecord(device.id)).lastSeen ?? '');

    // Package 1 reports DevInfo: the device changes, last seen with it.
    client.startSession();
    const started = server.clock.now();
    const first = replyOf(await client.send(client.compose(client.package1().map((p) => p.xml), { cred: client.credential() })));
    expect(first.final).toBe(false);
    const atStart = await seen();
    expect(atStart).toBeGreaterThanOrEqual(started);

    // Statuses for the Replaces 30 s later: nothing else of the device changes.
    server.clock.advance(30_000);
    const second = replyOf(await client.send(client.compose(client.replyTo(first))));
    expect(await seen()).toBe(atStart);

    // A minute after the last write, the same kind of message moves it on.
    server.clock.advance(31_000);
    const later = server.clock.now();
    const third = replyOf(await client.send(client.compose(client.replyTo(second))));
    expect(third.headerStatus?.code).toBe(200);
    expect(await seen()).toBeGreaterThanOrEqual(later);
  });
});
