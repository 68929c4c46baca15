// Random and mutated DM messages against a running server: it never answers 500 nor falls
// over, a message it does not answer with a SyncML reply leaves dm_sessions as it was, and
// real sessions still work afterwards. The valid messages the mutations start from come
// from the independent test client, not from our codec.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { alertXml, basicCred, DmTestClient, md5Cred, messageXml, replaceXml, resultsXml, statusXml, WBXML_TYPE, XML_TYPE, xmlToWbxml } from '../support/dm-test-client.ts';
import { hasTool } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { selectRow, selectRows } from '../support/sql.ts';

const wbxmlTools = hasTool('xml2wbxml', 'libwbxml2-utils') && hasTool('wbxml2xml', 'libwbxml2-utils');
const SAMPLES = '/work/shared/protocol-samples';

let server: TestServer;
const md5Device = { id: 'IMEI:490000000000001', username: 'fuzz-md5', password: 'fuzz-md5-password' };
const basicDevice = { id: 'IMEI:490000000000002', username: 'fuzz-basic', password: 'fuzz-basic-password' };
// The device of the protocol samples, so they reach authentication (their digest was made for another nonce).
const sampleDevice = { id: 'IMEI:493005100592800', username: 'dev01', password: 'clientpw' };

beforeAll(async () => {
  server = await startTestServer();
  for (const [device, extra] of [
    [md5Device, { serverPassword: 'fuzz-server-password' }],
    [basicDevice, { authType: 'basic' }],
    [sampleDevice, {}],
  ] as const) {
    const res = await server.api('/api/v1/devices', {
      method: 'POST',
      token: server.tokens.operator,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: device.id, model: 'X100', credentials: { username: device.username, password: device.password, ...('authType' in extra ? { authType: extra.authType } : {}) }, ...('serverPassword' in extra ? { serverPassword: extra.serverPassword } : {}) }),
    });
    expect(res.status).toBe(201);
  }
});

const dmUrl = () => `${server.url}/dm`;
const snapshot = async () => JSON.stringify(await selectRows(server.ctx.db, 'select * from dm_sessions order by id'));

/** POSTs one message and checks the invariants; returns the HTTP status. */
async function probe(body: string | Uint8Array, contentType: string, url = dmUrl()): Promise<number> {
  const before = await snapshot();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : Buffer.from(body) });
  await res.arrayBuffer();
  expect(res.status, `HTTP ${res.status} for ${contentType}`).toBeLessThan(500);
  if (res.status === 200) expect(res.headers.get('content-type')).toBe(contentType);
  else expect(await snapshot(), `HTTP ${res.status} changed dm_sessions`).toBe(before);
  return res.status;
}

// ---------------------------------------------------------------------------------------
// Valid starting points

function baseMessages(): string[] {
  const target = dmUrl();
  const pkg1 = (device: typeof md5Device, cred?: { type: string; data: string }, sessionId = '1F') =>
    messageXml({ sessionId, msgId: 1, target, source: device.id, locName: device.username, ...(cred ? { cred } : {}), maxMsgSize: 4096 }, [
      alertXml('1201'),
      replaceXml([
        { uri: './DevInfo/DevId', data: device.id },
        { uri: './DevInfo/Man', data: 'Acme' },
        { uri: './DevInfo/Mod', data: 'X100' },
        { uri: './DevInfo/DmV', data: '1.2' },
        { uri: './DevInfo/Lang', data: 'en-US' },
      ]),
    ]);
  const later = messageXml({ sessionId: '1F', msgId: 2, target, source: basicDevice.id }, [
    statusXml({ msgRef: 1, cmdRef: 0, cmd: 'SyncHdr', targetRefs: [basicDevice.id], sourceRefs: [target], chal: { type: 'syncml:auth-md5', nextNonce: 'c2VydmVyTm9uY2UwMg==' }, code: 212 }),
    statusXml({ msgRef: 1, cmdRef: 4, cmd: 'Get', targetRefs: ['./DevDetail/FwV'], code: 200 }),
    resultsXml(1, 4, [{ uri: './DevDetail/FwV', data: '2.0.7' }]),
    statusXml({ msgRef: 1, cmdRef: 5, cmd: 'Replace', targetRefs: ['./Vendor/X'], code: 200 }),
    alertXml('1222', [{ target, source: basicDevice.id }]),
    alertXml('1226', [{ source: './FUMO/fw1/Update', type: 'org.openmobilealliance.dm.firmwareupdate.update', format: 'int', mark: 'critical', data: '402' }], 'c-1'),
  ]);
  const samples = ['p1.xml', 'p3.xml', 'r1.xml'].map((f) => readFileSync(join(SAMPLES, f), 'utf8').replaceAll('https://dm.example.com/dm', target));
  return [
    pkg1(md5Device),
    pkg1(md5Device, { type: 'syncml:auth-md5', data: md5Cred(md5Device.username, md5Device.password, Buffer.from('not-the-nonce')) }),
    pkg1(basicDevice, { type: 'syncml:auth-basic', data: basicCred(basicDevice.username, basicDevice.password) }, '2E'),
    pkg1(basicDevice, { type: 'syncml:auth-basic', data: basicCred(basicDevice.username, basicDevice.password) }, '3D'),
    later,
    ...samples,
  ];
}

// ---------------------------------------------------------------------------------------
// Mutations of XML text

type Mutation =
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'delete' | 'duplicate'; which: number }
  | { kind: 'text'; which: number; text: string }
  | { kind: 'msgId'; value: string }
  | { kind: 'sessionId'; value: string };

const nastyText = fc.oneof(
  fc.constantFrom('', '0', '-1', '1.5', '99999999999999999999', ' 2 ', '&amp;', '&bogus;', ']]>', '<', '\u0000', 'AAAA', '!!!', 'SyncHdr', '1222', '1223', '401'),
  fc.string({ maxLength: 20 }),
  fc.nat().map(String),
);

const byteLevel: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
);
// Mutations that mostly keep the XML well-formed, so they reach the session logic.
const structural: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constantFrom('delete' as const, 'duplicate' as const), which: fc.nat() }),
  fc.record({ kind: fc.constant('text' as const), which: fc.nat(), text: nastyText }),
  fc.record({ kind: fc.constant('msgId' as const), value: fc.oneof(fc.integer({ min: -2, max: 6 }).map(String), nastyText) }),
  fc.record({ kind: fc.constant('sessionId' as const), value: fc.oneof(fc.constantFrom('1F', '2E', '3D', '1A2B'), nastyText) }),
);
const mutation: fc.Arbitrary<Mutation> = fc.oneof({ arbitrary: byteLevel, weight: 1 }, { arbitrary: structural, weight: 3 });

const TOKEN = /<[^>]*>|[^<]+/g;

/** Token index ranges [start, end] of whole elements (start tag to its end tag). */
function elementSpans(tokens: string[]): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  const open: number[] = [];
  tokens.forEach((t, i) => {
    if (!t.startsWith('<') || t.startsWith('<?') || t.startsWith('<!')) return;
    if (t.startsWith('</')) {
      const start = open.pop();
      if (start !== undefined) spans.push([start, i]);
    } else if (t.endsWith('/>')) spans.push([i, i]);
    else open.push(i);
  });
  return spans;
}

function mutate(xml: string, m: Mutation): string | Buffer {
  const tokens = xml.match(TOKEN) ?? [];
  switch (m.kind) {
    case 'flip': {
      const bytes = Buffer.from(xml, 'utf8');
      const at = Math.min(bytes.length - 1, Math.floor(m.at * bytes.length));
      bytes[at] = (bytes[at] ?? 0) ^ m.xor;
      return bytes;
    }
    case 'truncate':
      return Buffer.from(xml, 'utf8').subarray(0, Math.floor(m.at * Buffer.byteLength(xml)));
    case 'delete':
    case 'duplicate': {
      const spans = elementSpans(tokens);
      const span = spans[m.which % spans.length];
      if (!span) return xml;
      const [a, b] = span;
      const piece = tokens.slice(a, b + 1);
      return [...tokens.slice(0, a), ...(m.kind === 'duplicate' ? [...piece, ...piece] : []), ...tokens.slice(b + 1)].join('');
    }
    case 'text': {
      const texts = tokens.map((t, i) => [t, i] as const).filter(([t]) => !t.startsWith('<'));
      const hit = texts[m.which % Math.max(1, texts.length)];
      if (!hit) return xml;
      return tokens.map((t, i) => (i === hit[1] ? m.text : t)).join('');
    }
    case 'msgId':
      return xml.replace(/<MsgID>[^<]*<\/MsgID>/, `<MsgID>${m.value}</MsgID>`);
    case 'sessionId':
      return xml.replace(/<SessionID>[^<]*<\/SessionID>/, `<SessionID>${m.value}</SessionID>`);
  }
}

function applyAll(xml: string, mutations: Mutation[]): Buffer {
  let out: string | Buffer = xml;
  for (const m of mutations) out = mutate(typeof out === 'string' ? out : out.toString('latin1'), m);
  return typeof out === 'string' ? Buffer.from(out, 'utf8') : out;
}

const xmlTypes = fc.constantFrom(XML_TYPE, 'application/vnd.syncml+xml', 'application/vnd.syncml.dm+xml; charset=UTF-8', 'APPLICATION/VND.SYNCML.DM+XML');
const anyType = fc.oneof(
  xmlTypes,
  fc.constantFrom(WBXML_TYPE, 'application/vnd.syncml+wbxml', 'text/xml', 'application/xml', 'application/json', 'application/vnd.syncml.notification', 'multipart/form-data; boundary=x', ''),
  fc.stringMatching(/^[\x21-\x7e][\x20-\x7e]{0,40}$/),
);

// ---------------------------------------------------------------------------------------

describe('DM endpoint under random input', () => {
  it('survives mutated XML messages', async () => {
    const bases = baseMessages();
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: bases.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), xmlTypes, async (which, mutations, type) => {
        await probe(applyAll(bases[which] ?? '', mutations), type);
      }),
      { numRuns: 500 },
    );
  });

  it('survives valid messages under random content types', async () => {
    const bases = baseMessages();
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: bases.length - 1 }), anyType, async (which, type) => {
        await probe(bases[which] ?? '', type);
      }),
      { numRuns: 100 },
    );
  });

  it.skipIf(!wbxmlTools)('survives random and mutated WBXML', async () => {
    const bases = baseMessages().map(xmlToWbxml);
    const header = fc.constantFrom([], [0x03, 0xa4, 0x01, 0x6a, 0x00], [0x02, 0xa4, 0x01, 0x6a, 0x00], [0x03, 0x01, 0x6a, 0x00]);
    const random = fc.tuple(header, fc.uint8Array({ maxLength: 200 })).map(([h, rest]) => Buffer.concat([Buffer.from(h), rest]));
    const mutated = fc
      .tuple(fc.nat({ max: bases.length - 1 }), fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete', 'cut')), { minLength: 1, maxLength: 4 }))
      .map(([which, edits]) => {
        let bytes = Buffer.from(bases[which] ?? Buffer.alloc(0));
        for (const [where, value, op] of edits) {
          const at = Math.floor(where * bytes.length);
          if (op === 'set') bytes[Math.min(at, bytes.length - 1)] = value;
          if (op === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([value]), bytes.subarray(at)]);
          if (op === 'delete') bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
          if (op === 'cut') bytes = bytes.subarray(0, at);
        }
        return bytes;
      });
    await fc.assert(
      fc.asyncProperty(fc.oneof(random, mutated), fc.constantFrom(WBXML_TYPE, 'application/vnd.syncml+wbxml'), async (bytes, type) => {
        await probe(bytes, type);
      }),
      { numRuns: 300 },
    );
  });

  it('survives mutated answers inside an authenticated session', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof({ arbitrary: byteLevel, weight: 1 }, { arbitrary: structural, weight: 6 }), { minLength: 1, maxLength: 3 }), async (mutations) => {
        // A fresh session with server commands outstanding: an operation and the inventory.
        n += 1;
        const res = await server.api(`/api/v1/devices/${basicDevice.id}/operations`, { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ command: 'Get', uri: `./Vendor/Node${n}` }) });
        expect(res.status).toBe(202);
        const client = new DmTestClient({ url: dmUrl(), devId: basicDevice.id, username: basicDevice.username, password: basicDevice.password, authType: 'basic', tree: { [`./Vendor/Node${n}`]: `value ${n}` } });
        client.startSession();
        const first = await client.send(client.compose(client.package1().map((p) => p.xml), { cred: client.credential() }));
        const reply = first.response.reply;
        expect(reply?.headerStatus?.code).toBe(212);
        if (!reply) return;
        const answer = client.compose(client.replyTo(reply));
        await probe(applyAll(answer.xml, mutations), XML_TYPE, client.currentUrl);
      }),
      { numRuns: 150 },
    );
  });

  it('still runs whole sessions afterwards, for old and new devices', async () => {
    // The fuzzing above failed many authentications for these devices and from this
    // address, which locks them for a while (test/dm/attacks.test.ts): wait that out.
    server.clock.advance(server.ctx.config.dm.auth.lockoutMs);
    expect(await selectRow(server.ctx.db, "select count(*) n from audit_events where action in ('dm.auth-locked', 'dm.address-locked')")).not.toEqual({ n: 0 });
    const fresh = { id: 'IMEI:490000000000009', username: 'fuzz-late', password: 'fuzz-late-password' };
    const res = await server.api('/api/v1/devices', { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: fresh.id, model: 'X100', credentials: { username: fresh.username, password: fresh.password } }) });
    expect(res.status).toBe(201);
    for (const device of [md5Device, basicDevice, sampleDevice, fresh]) {
      const client = new DmTestClient({ url: dmUrl(), devId: device.id, username: device.username, password: device.password, authType: device === basicDevice ? 'basic' : 'md5', ...(device === md5Device ? { serverPassword: 'fuzz-server-password' } : {}), tree: { './DevDetail/FwV': '9.9.9', './DevDetail/SwV': 's', './DevDetail/HwV': 'h' } });
      const outcome = await client.session();
      expect(outcome.end, `${device.id}: ${outcome.exchanges.map((e) => e.response.reply?.headerStatus?.code ?? e.response.httpStatus).join(',')}`).toBe('completed');
    }
  });
});
