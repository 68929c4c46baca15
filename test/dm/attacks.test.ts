// The DM endpoint as an attacker sees it: someone who knows a device's DevId (it is printed
// on the box) and its SessionIDs (small numbers), but not its password nor the session's
// RespURI token. Over real HTTP against a real server, in XML and WBXML, for digest and
// HMAC devices: the attacker cannot continue the device's session, fetch its stored
// replies, forge its results, make the server store or log what it sends, nor put the
// real device one challenge behind; and guessing passwords gets it locked out.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sweepDmSessions } from '../../src/dm/session/expire.ts';
import { alertXml, type CommandXml, DmTestClient, type Exchange, md5Cred, messageXml, readReply, type ReplyInfo, replaceXml, resultsXml, WBXML_TYPE, wbxmlToXml, XML_TYPE, xmlToWbxml } from '../support/dm-test-client.ts';
import { hasTool, nextBuild, pseudoRandom } from '../support/harness.ts';
import { metricValue } from '../support/metrics.ts';
import { capturedLog, startTestServer, type TestServer } from '../support/server.ts';
import { selectRows } from '../support/sql.ts';

const wbxmlTools = hasTool('xml2wbxml', 'libwbxml2-utils') && hasTool('wbxml2xml', 'libwbxml2-utils');

let server: TestServer;
const log = capturedLog();
let build2: string;
beforeAll(async () => {
  server = await startTestServer({}, { log: log.log });
  const v1 = pseudoRandom(100_000, 'attack-v1');
  for (const [version, image] of [['1.0', v1], ['2.0', nextBuild(v1)]] as const) {
    build2 = (await server.upload('router-a', version, image)).id;
  }
});

// ---------------------------------------------------------------------------------------
// Helpers

type AuthType = 'md5' | 'hmac';
interface Device {
  id: string;
  username: string;
  password: string;
  authType: AuthType;
}

let count = 0;
const json = (body: unknown) => ({ method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function registerDevice(authType: AuthType = 'md5', on: TestServer = server): Promise<Device> {
  count += 1;
  const device = { id: `IMEI:66${String(count).padStart(10, '0')}`, username: `victim${count}`, password: `victim-password-${count}`, authType };
  const res = await on.api('/api/v1/devices', {
    ...json({ id: device.id, model: 'router-a', firmwareVersion: '1.0', credentials: { username: device.username, password: device.password, authType } }),
    token: on.tokens.operator,
  });
  expect(res.status).toBe(201);
  return device;
}

const TREE = { './DevDetail/FwV': '1.0', './DevDetail/SwV': 's1', './DevDetail/HwV': 'h1' };

function clientFor(device: Device, encoding: 'xml' | 'wbxml' = 'xml', on: TestServer = server): DmTestClient {
  return new DmTestClient({ url: `${on.url}/dm`, devId: device.id, username: device.username, password: device.password, authType: device.authType, encoding, tree: TREE });
}

const replyOf = (ex: Exchange | undefined): ReplyInfo => {
  const reply = ex?.response.reply;
  if (!reply) throw new Error(`no SyncML reply (HTTP ${ex?.response.httpStatus}): ${Buffer.from(ex?.response.body ?? []).toString().slice(0, 300)}`);
  return reply;
};
const codeOf = (ex: Exchange) => replyOf(ex).headerStatus?.code;
const bodyText = (ex: Exchange) => Buffer.from(ex.response.body).toString('latin1');

const sql = <T>(query: string, ...params: unknown[]): Promise<T[]> => selectRows<T>(server.ctx.db, query, ...params);
/** What an attacker's message must not change: sessions, what the server knows of the device, its deployments and operations. */
const stateOf = async (deviceId: string) =>
  JSON.stringify([
    await sql('select * from dm_sessions where device_id = ? order by id', deviceId),
    await sql('select firmware_version, manufacturer, inventory, last_seen, client_nonce, server_nonce from devices where id = ?', deviceId),
    await sql('select * from deployments where device_id = ? order by id', deviceId),
    await sql('select * from dm_operations where device_id = ? order by id', deviceId),
  ]);
/** The audit rows so far, to tell the ones a step adds (ids are not ordered within a millisecond). */
const lastAuditRow = async () => new Set((await sql<{ id: string }>('select id from audit_events')).map((row) => row.id));
const auditSince = async (before: Set<string>) =>
  (await sql<{ id: string; action: string; subject: string; details: string }>('select id, action, subject, details from audit_events order by at, action')).filter((row) => !before.has(row.id)).map(({ id: _id, ...row }) => row);

/**
 * The device opens a session: Package 1 (with credentials when it knows a nonce), the
 * challenge if any, and the authenticated reply carrying the server's commands.
 */
async function authenticate(client: DmTestClient): Promise<{ exchange: Exchange; reply: ReplyInfo }> {
  client.startSession();
  const pkg1 = client.package1().map((p) => p.xml);
  let exchange = await client.send(client.compose(pkg1, { cred: client.credential() }));
  let reply = replyOf(exchange);
  if (reply.headerStatus?.code === 407 || reply.headerStatus?.code === 401) {
    if (reply.headerStatus.chal) client.takeChallenge(reply.headerStatus.chal);
    exchange = await client.send(client.compose(pkg1, { cred: client.credential() }));
    reply = replyOf(exchange);
  }
  expect([200, 212]).toContain(reply.headerStatus?.code);
  if (reply.headerStatus?.chal) client.takeChallenge(reply.headerStatus.chal);
  return { exchange, reply };
}

/** What the attacker posts: a message in the device's name, to the plain DM URL, with no credentials. */
async function forge(client: DmTestClient, header: { sessionId: string; msgId: number }, commands: CommandXml[], extra: { url?: string; cred?: { type: string; data: string }; headers?: Record<string, string> } = {}): Promise<Exchange> {
  const xml = messageXml({ ...header, target: `${server.url}/dm`, source: client.options.devId, ...(extra.cred ? { cred: extra.cred } : {}) }, commands);
  const body = client.wbxml ? xmlToWbxml(xml) : Buffer.from(xml);
  const contentType = client.wbxml ? WBXML_TYPE : XML_TYPE;
  const raw = await client.post(body, contentType, extra.url ?? `${server.url}/dm`, extra.headers ?? {});
  const response: Exchange['response'] = { httpStatus: raw.status, contentType: raw.contentType, body: raw.body, retryAfter: raw.retryAfter };
  if (raw.status === 200) response.reply = readReply(client.wbxml ? wbxmlToXml(raw.body) : Buffer.from(raw.body).toString('utf8'));
  return { request: { url: extra.url ?? `${server.url}/dm`, contentType, msgId: header.msgId, xml, body, headers: extra.headers ?? {} }, response };
}

const fwResults = (msgRef: number, cmdRef: number, version: string) => resultsXml(msgRef, cmdRef, [{ uri: './DevDetail/FwV', data: version }]);
const fumoSuccess = (correlator: string) =>
  alertXml('1226', [{ source: './FUMO/fota/DownloadAndUpdate', type: 'org.openmobilealliance.dm.firmwareupdate.downloadandupdate', format: 'int', data: '200' }], correlator);

const cases = [
  { name: 'XML, digest', encoding: 'xml', authType: 'md5' },
  { name: 'WBXML, digest', encoding: 'wbxml', authType: 'md5' },
  { name: 'XML, HMAC', encoding: 'xml', authType: 'hmac' },
  { name: 'WBXML, HMAC', encoding: 'wbxml', authType: 'hmac' },
] as const;

// ---------------------------------------------------------------------------------------

describe.each(cases)('an authenticated session in $name', ({ encoding, authType }) => {
  it.skipIf(encoding === 'wbxml' && !wbxmlTools)('cannot be continued, nor its results forged, with DevId and SessionID alone', async () => {
    const device = await registerDevice(authType);
    const deployment = (await (await server.api('/api/v1/deployments', json({ deviceId: device.id, buildId: build2 }))).json()) as { id: string };
    const client = clientFor(device, encoding);
    const { reply: first } = await authenticate(client);
    // The server reads FwV before it commands the update (the package is chosen against it):
    // the device answers, and the FUMO Exec comes in the reply to that.
    expect(first.commands.some((c) => c.name === 'Get')).toBe(true);
    expect(first.commands.some((c) => c.name === 'Exec')).toBe(false);
    const reply = replyOf(await client.send(client.compose(client.replyTo(first))));
    if (reply.headerStatus?.chal) client.takeChallenge(reply.headerStatus.chal);
    const respUri = reply.header.respUri ?? '';
    expect(respUri).toMatch(/\?s=dms_/);
    const fumoExec = reply.commands.find((c) => c.name === 'Exec');
    expect(fumoExec).toBeDefined();
    const before = await stateOf(device.id);
    const audited = await lastAuditRow();

    // Message 3 in the device's name: Results with another FwV, the FUMO result "200", a
    // Replace of FwV; at the plain URL, at the device's own SessionID, without a Cred.
    const forged = [fwResults(reply.header.msgId, 3, '6.6.6'), fumoSuccess(`${deployment.id}.1`), replaceXml([{ uri: './DevDetail/FwV', data: '6.6.6' }])];
    const takeover = await forge(client, { sessionId: client.sessionId, msgId: client.nextMsgId }, forged);
    expect(codeOf(takeover)).toBe(407);
    expect(replyOf(takeover).commands.every((c) => c.name === 'Status')).toBe(true);
    expect(replyOf(takeover).header.respUri).toBeUndefined();
    // With wrong credentials, or an HMAC over the body with a guessed nonce: refused too.
    const wrong = authType === 'hmac'
      ? { headers: { 'x-syncml-hmac': `algorithm=MD5, username="${device.username}", mac=${md5Cred(device.username, 'guess', Buffer.from('nonce'))}` } }
      : { cred: { type: 'syncml:auth-md5', data: md5Cred(device.username, 'guess', Buffer.from('nonce')) } };
    expect(codeOf(await forge(client, { sessionId: client.sessionId, msgId: client.nextMsgId }, forged, wrong))).toBe(401);
    // Probing the small SessionIDs gets nowhere either.
    for (let id = 0; id <= 50; id++) expect(codeOf(await forge(client, { sessionId: String(id), msgId: 3 }, forged))).toBe(407);

    expect(await stateOf(device.id)).toBe(before);
    // Only the failed credentials were recorded.
    expect((await auditSince(audited)).map((a) => `${a.action} ${a.subject}`)).toEqual([`dm.auth-failed ${device.id}`]);
    const state = async () => ((await (await server.api(`/api/v1/deployments/${deployment.id}`, { token: server.tokens.operator })).json()) as { state: string }).state;
    expect(await state()).toBe('scheduled'); // the Exec is out, not yet answered

    // The device, holding the token, goes on: its 202 for the Exec counts.
    expect(client.currentUrl).toBe(respUri);
    const answer = await client.send(client.compose(client.replyTo(reply)));
    expect([200, 212]).toContain(codeOf(answer));
    expect(await state()).toBe('commanded');
    const device_ = (await (await server.api(`/api/v1/devices/${device.id}`, { token: server.tokens.operator })).json()) as { firmwareVersion: string };
    expect(device_.firmwareVersion).toBe('1.0');
  });

  it.skipIf(encoding === 'wbxml' && !wbxmlTools)('resends a lost reply only to a message that proves itself', async () => {
    const device = await registerDevice(authType);
    const secret = `new-secret-${count}`;
    expect((await server.api(`/api/v1/devices/${device.id}/operations`, json({ command: 'Replace', uri: './DMAcc/fota/AppAuth/CLCRED/AAuthSecret', data: secret }))).status).toBe(202);
    const client = clientFor(device, encoding);
    const { exchange, reply } = await authenticate(client);
    expect(bodyText(exchange)).toContain(secret);
    const before = await stateOf(device.id);
    const audited = await lastAuditRow();

    // The same message, without its Cred or MAC, at the plain URL: a challenge, not the reply.
    const naked = exchange.request.xml.replace(/<Cred>[\s\S]*?<\/Cred>/, '');
    const copy = await client.post(client.wbxml ? xmlToWbxml(naked) : naked, exchange.request.contentType, `${server.url}/dm`);
    expect(copy.status).toBe(200);
    expect(Buffer.from(copy.body).toString('latin1')).not.toContain(secret);
    expect(Buffer.from(copy.body).equals(Buffer.from(exchange.response.body))).toBe(false);
    expect(await stateOf(device.id)).toBe(before);

    // The device's own resend (same bytes, same credentials) gets the identical reply.
    const again = await client.post(exchange.request.body, exchange.request.contentType, exchange.request.url, exchange.request.headers);
    expect(Buffer.from(again.body).equals(Buffer.from(exchange.response.body))).toBe(true);
    // So does the same message at the session's RespURI, which the token proves.
    const byToken = await client.post(client.wbxml ? xmlToWbxml(naked) : naked, exchange.request.contentType, reply.header.respUri);
    expect(Buffer.from(byToken.body).equals(Buffer.from(exchange.response.body))).toBe(true);
    expect(await stateOf(device.id)).toBe(before);
    expect(await auditSince(audited)).toEqual([]);
  });

  it.skipIf(encoding === 'wbxml' && !wbxmlTools)("cannot be disturbed: an attacker's messages leave the device's nonce alone", async () => {
    const device = await registerDevice(authType);
    const client = clientFor(device, encoding);
    await authenticate(client);
    // The device ends its first session, holding the nonce for its next one.
    const closing = replyOf(await client.send(client.compose([])));
    if (closing.headerStatus?.chal) client.takeChallenge(closing.headerStatus.chal);
    const nonce = async () => (await sql<{ client_nonce: string }>('select client_nonce from devices where id = ?', device.id))[0]?.client_nonce;
    const held = await nonce();
    expect(held).toBe(Buffer.from(client.clientNonce ?? []).toString('base64'));

    // The attacker asks for challenges in many sessions, the device's next one included,
    // and fails a few credentials (below the lockout).
    const next = (Number.parseInt(client.sessionId, 16) + 1).toString(16).toUpperCase();
    for (const sessionId of ['1', '2', 'A1B2', next]) for (const msgId of [1, 2]) expect(codeOf(await forge(client, { sessionId, msgId }, [alertXml('1201')]))).toBe(407);
    const bad = authType === 'hmac' ? { headers: { 'x-syncml-hmac': `algorithm=MD5, username="${device.username}", mac=AAAAAAAAAAAAAAAAAAAAAA==` } } : { cred: { type: 'syncml:auth-md5', data: 'AAAAAAAAAAAAAAAAAAAAAA==' } };
    for (const msgId of [1, 2, 3]) expect(codeOf(await forge(client, { sessionId: next, msgId }, [alertXml('1201')], bad))).toBe(401);
    expect(await nonce()).toBe(held);
    expect(await sql('select * from dm_sessions where device_id = ?', device.id)).toHaveLength(1);

    // The device's next session proves itself at once with the nonce it holds.
    client.startSession(next);
    const first = await client.send(client.compose(client.package1().map((p) => p.xml), { cred: client.credential() }));
    expect(codeOf(first)).toBe(authType === 'hmac' ? 200 : 212);
  });
});

describe('a device challenged in its own session', () => {
  it('answers with the nonce of that challenge while an attacker asks for others', async () => {
    const device = await registerDevice('md5');
    const client = clientFor(device);
    client.startSession('7E');
    const pkg1 = client.package1().map((p) => p.xml);
    const challenge = replyOf(await client.send(client.compose(pkg1)));
    expect(challenge.headerStatus?.code).toBe(407);
    // The attacker gets challenges in the same session and the next MsgIDs, and fails once.
    for (const msgId of [1, 2, 3]) expect(codeOf(await forge(client, { sessionId: '7E', msgId }, [alertXml('1201')]))).toBe(407);
    expect(codeOf(await forge(client, { sessionId: '7E', msgId: 2 }, [alertXml('1201')], { cred: { type: 'syncml:auth-md5', data: md5Cred(device.username, 'guess', Buffer.from('x')) } }))).toBe(401);
    if (challenge.headerStatus?.chal) client.takeChallenge(challenge.headerStatus.chal);
    expect(codeOf(await client.send(client.compose(pkg1, { cred: client.credential() })))).toBe(212);
  });
});

describe('unauthenticated messages', () => {
  const bigId = 'S'.repeat(64 * 1024);

  it('with oversized header fields are refused with HTTP 400 before the database, and never logged', async () => {
    const device = await registerDevice('md5');
    const client = clientFor(device);
    const before = await stateOf(device.id);
    const logged = log.lines().length;
    const probes: Array<[string, string]> = [
      ['SessionID', messageXml({ sessionId: 'S'.repeat(240 * 1024), msgId: 1, target: `${server.url}/dm`, source: device.id }, [alertXml('1201')])],
      ['SessionID', messageXml({ sessionId: 'S'.repeat(33), msgId: 1, target: `${server.url}/dm`, source: device.id }, [alertXml('1201')])],
      ['Source LocURI', messageXml({ sessionId: '1', msgId: 1, target: `${server.url}/dm`, source: `IMEI:${'9'.repeat(64 * 1024)}` }, [alertXml('1201')])],
      ['Source LocName', messageXml({ sessionId: '1', msgId: 1, target: `${server.url}/dm`, source: device.id, locName: 'n'.repeat(4096) }, [alertXml('1201')])],
      ['Target LocURI', messageXml({ sessionId: '1', msgId: 1, target: `${server.url}/dm?${'x'.repeat(8192)}`, source: device.id }, [alertXml('1201')])],
      ['MsgID', messageXml({ sessionId: '1', msgId: 0, target: `${server.url}/dm`, source: device.id }, [alertXml('1201')])],
    ];
    for (const [field, xml] of probes) {
      const res = await client.post(xml, XML_TYPE, `${server.url}/dm`);
      const text = Buffer.from(res.body).toString();
      expect(res.status, field).toBe(400);
      expect(text).toContain(field);
      expect(text.length).toBeLessThan(600);
    }
    expect(await stateOf(device.id)).toBe(before);
    const lines = log.lines().slice(logged);
    expect(lines.length).toBeGreaterThan(0); // the request lines
    for (const line of lines) expect(line.length).toBeLessThan(2000);
  });

  it('from a flood store a bounded amount: 60 with 64 KB SessionIDs and 300 more add under 2 MB', async () => {
    const device = await registerDevice('md5');
    const client = clientFor(device);
    const dataDir = server.ctx.config.dataDir;
    // What the database takes: the data directory on SQLite, the database's size on PostgreSQL.
    const bytes = async () =>
      server.ctx.db.dialect === 'sqlite' ? sizeOf(dataDir) : ((await sql<{ n: number }>('select pg_database_size(current_database()) n'))[0]?.n ?? 0);
    const sessions = async () => (await sql<{ n: number }>('select count(*) n from dm_sessions'))[0]?.n;
    const [size0, sessions0, audited] = [await bytes(), await sessions(), await lastAuditRow()];
    const logged = log.lines().length;

    const post = (sessionId: string, source: string) => client.post(messageXml({ sessionId, msgId: 1, target: `${server.url}/dm`, source }, [alertXml('1201'), replaceXml([{ uri: './DevInfo/DevId', data: source }])]), XML_TYPE, `${server.url}/dm`);
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) statuses.push((await post(bigId, i % 2 ? device.id : `IMEI:UNKNOWN${i}`)).status);
    expect(new Set(statuses)).toEqual(new Set([400]));
    // Well-formed ones: unknown devices, and the known device without Cred, each in a new session.
    const replies = new Set<number>();
    for (let i = 0; i < 300; i++) replies.add((await post(String(i), i % 2 ? device.id : `IMEI:GHOST${i}`)).status);
    expect(replies).toEqual(new Set([200])); // SyncML refusals: 403 and 407 in the header Status

    // Nothing was stored per message; the unknown devices are summed up at the sweep (the
    // server's own sweep may have run meanwhile too: then there are two summaries).
    expect(await sessions()).toBe(sessions0);
    await sweepDmSessions(server.ctx, server.dmGuard);
    const added = await auditSince(audited);
    expect(added.length).toBeGreaterThanOrEqual(1);
    expect(added.length).toBeLessThanOrEqual(2);
    expect(added.every((a) => a.action === 'dm.unknown-devices')).toBe(true);
    const summed = added.map((a) => JSON.parse(a.details) as { messages: number; devices: number; sample: string[] });
    expect(summed.reduce((n, a) => n + a.messages, 0)).toBe(150);
    expect(summed.reduce((n, a) => n + a.devices, 0)).toBe(150);
    expect(summed[0]?.sample.length).toBeLessThanOrEqual(5);
    expect((await bytes()) - size0).toBeLessThan(2 * 1024 * 1024);
    // No log line carries what the attacker sent at length.
    for (const line of log.lines().slice(logged)) expect(line).not.toContain('S'.repeat(200));
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metricValue(metrics, 'fota_dm_messages_refused_total', { reason: 'bad-header' })).toBeGreaterThanOrEqual(60);
    expect(metricValue(metrics, 'fota_dm_messages_refused_total', { reason: 'unknown-device' })).toBeGreaterThanOrEqual(150);
  });

  it('keep no session rows once the sessions are over', async () => {
    const device = await registerDevice('md5');
    const client = clientFor(device);
    expect((await client.session()).end).toBe('completed');
    expect(await sql('select * from dm_sessions where device_id = ?', device.id)).toHaveLength(1);
    const later = { ...server.ctx, clock: { now: () => Date.now() + 2 * server.ctx.config.dm.sessionIdleMs + 1000 } };
    expect((await sweepDmSessions(later, server.dmGuard)).removed).toBeGreaterThanOrEqual(1);
    expect(await sql('select * from dm_sessions where device_id = ?', device.id)).toHaveLength(0);
    // The device's nonce outlives the row: its next session authenticates at once.
    expect((await client.session()).exchanges.map((e) => codeOf(e))[0]).toBe(212);
  });
});

describe('online guessing', () => {
  it('locks a device after 10 failed authentications: 429 with Retry-After, audited, counted; the lock ends and a success resets the count', async () => {
    const device = await registerDevice('md5');
    const client = clientFor(device);
    const { reply } = await authenticate(client); // a session the real device holds open
    const guess = (n: number) => forge(client, { sessionId: `G${n}`, msgId: 1 }, [alertXml('1201')], { cred: { type: 'syncml:auth-md5', data: md5Cred(device.username, `guess-${n}`, Buffer.from('x')) } });
    for (let n = 0; n < 10; n++) expect(codeOf(await guess(n))).toBe(401);

    // Locked: even the right password is not checked now.
    const right = clientFor(device);
    right.clientNonce = client.clientNonce;
    right.startSession('R1');
    const refused = await right.send(right.compose(right.package1().map((p) => p.xml), { cred: right.credential() }));
    expect(refused.response.httpStatus).toBe(429);
    expect(Number(refused.response.retryAfter)).toBeGreaterThan(0);
    expect(Number(refused.response.retryAfter)).toBeLessThanOrEqual(server.ctx.config.dm.auth.lockoutMs / 1000);
    expect(Buffer.from(refused.response.body).toString()).toContain('too many failed authentications');
    // A message without credentials still gets its (free) challenge; the open session goes on by its token.
    expect(codeOf(await forge(client, { sessionId: 'R2', msgId: 1 }, [alertXml('1201')]))).toBe(407);
    expect([200, 212]).toContain(codeOf(await client.send(client.compose(client.replyTo(reply)))));

    const audit = await sql<{ action: string; details: string }>("select action, details from audit_events where subject = ? and action like 'dm.auth-%' order by at, action", device.id);
    expect(audit.map((a) => a.action)).toEqual(['dm.auth-failed', 'dm.auth-locked']);
    expect(JSON.parse(audit[1]?.details ?? '{}')).toMatchObject({ failures: 10, address: expect.stringMatching(/127\.0\.0\.1/) });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metricValue(metrics, 'fota_dm_auth_lockouts_total', { scope: 'device' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(metrics, 'fota_dm_auth_failures_total', { reason: 'wrong-credentials' })).toBeGreaterThanOrEqual(10);
    expect(metricValue(metrics, 'fota_dm_messages_refused_total', { reason: 'locked' })).toBeGreaterThanOrEqual(1);

    // The lock ends; the right password gets in and wipes the count: one more failure does not lock.
    server.clock.advance(server.ctx.config.dm.auth.lockoutMs);
    right.startSession('R3');
    expect(codeOf(await right.send(right.compose(right.package1().map((p) => p.xml), { cred: right.credential() })))).toBe(212);
    expect(await sql('select auth_failures, auth_locked_until from devices where id = ?', device.id)).toEqual([{ auth_failures: 0, auth_locked_until: null }]);
    expect(codeOf(await guess(11))).toBe(401);
    expect(codeOf(await guess(12))).toBe(401);
  });

  it('locks an address that fails for many devices, and says so in the audit log and /metrics', async () => {
    const small = await startTestServer({ dm: { ...server.ctx.config.dm, auth: { maxFailures: 10, lockoutMs: 60_000, addressMaxFailures: 3 } } });
    const victims = [await registerDevice('md5', small), await registerDevice('md5', small), await registerDevice('md5', small), await registerDevice('md5', small)];
    const post = (device: Device, cred: string) =>
      fetch(`${small.url}/dm`, { method: 'POST', headers: { 'content-type': XML_TYPE }, body: messageXml({ sessionId: '1', msgId: 1, target: `${small.url}/dm`, source: device.id, cred: { type: 'syncml:auth-basic', data: cred } }, [alertXml('1201')]) });
    for (const victim of victims.slice(0, 3)) expect((await post(victim, 'Z3Vlc3M6Z3Vlc3M=')).status).toBe(200);
    const last = victims[3];
    if (!last) throw new Error('four victims');
    const locked = await post(last, 'Z3Vlc3M6Z3Vlc3M=');
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).toBe('60');
    const audit = await selectRows(small.ctx.db, "select subject from audit_events where action = 'dm.address-locked'");
    expect(audit).toEqual([{ subject: expect.stringMatching(/127\.0\.0\.1/) }]);
    const metrics = await (await fetch(`${small.url}/metrics`)).text();
    expect(metricValue(metrics, 'fota_dm_auth_lockouts_total', { scope: 'address' })).toBe(1);
    expect(metricValue(metrics, 'fota_dm_locked_addresses')).toBe(1);
  });
});

describe('session tokens', () => {
  it("of another device's session, or an unknown one, are refused", async () => {
    const [a, b] = [await registerDevice('md5'), await registerDevice('md5')];
    const clientA = clientFor(a);
    const { reply } = await authenticate(clientA);
    const clientB = clientFor(b);
    const stolen = await forge(clientB, { sessionId: clientA.sessionId, msgId: 3 }, [alertXml('1201')], { url: reply.header.respUri ?? '' });
    expect(codeOf(stolen)).toBe(404);
    const made = await forge(clientA, { sessionId: clientA.sessionId, msgId: 3 }, [alertXml('1201')], { url: `${server.url}/dm?s=dms_AAAAAAAAAAAAAAAAAAAAAAAA` });
    expect(codeOf(made)).toBe(404);
  });
});

// ---------------------------------------------------------------------------------------

function sizeOf(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? sizeOf(path) : statSync(path).size;
  }
  return total;
}
