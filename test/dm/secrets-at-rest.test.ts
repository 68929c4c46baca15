// New credentials sent to a device (a claim replaced by its own secret) are never kept in
// clear in its DM session's row, on both stores: not in the reply kept for a resend, not in
// the commands awaiting their Status, not in those waiting for the next message. A device
// that lost the reply still gets it again, byte for byte, with the same secret; and the
// secret it keeps opens its next session. Through real HTTP, with the independent test client.
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { replyAtRest, replyFromRest } from '../../src/dm/session/secrets-at-rest.ts';
import type { ServerCommand } from '../../src/dm/session/state.ts';
import type { BatchExport } from '../../src/enroll/schemas.ts';
import { KeyVault } from '../../src/signing/vault.ts';
import { readDmBootstrap } from '../../src/omadm/provisioning/dm-bootstrap.ts';
import { DmTestClient, type Exchange, isClosing, type ReplyInfo } from '../support/dm-test-client.ts';
import { hasTool } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { selectRows } from '../support/sql.ts';

const MODEL = 'meter-sealed';
const SECRET_NODE = './DMAcc/fota/AppAuth/ClientSide/AAuthSecret';
const SERVER_SECRET_NODE = './DMAcc/fota/AppAuth/ServerSide/AAuthSecret';
const wbxmlTools = hasTool('xml2wbxml', 'libwbxml2-utils') && hasTool('wbxml2xml', 'libwbxml2-utils');
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
}, 60_000);

/** A device of a new claim batch, as its bootstrap file configures it. */
async function claimedDevice(id: string, claim: string, options: { encoding: 'xml' | 'wbxml'; maxMsgSize?: number }): Promise<DmTestClient> {
  const batch = await server.postJson<{ id: string }>('/api/v1/enrollments', { name: `lot ${claim}`, model: MODEL, deviceIds: [id], claim: { name: claim } });
  const exported = await server.postJson<BatchExport>(`/api/v1/enrollments/${batch.id}/export`, {});
  const file = exported.files.find((f) => f.path.endsWith('.dm.wbxml'));
  if (!file) throw new Error('no DM bootstrap in the export');
  const { account } = readDmBootstrap(Buffer.from(file.content, file.encoding === 'base64' ? 'base64' : 'utf8'));
  return new DmTestClient({
    url: account.address,
    devId: id,
    username: account.client.name,
    password: account.client.secret,
    encoding: options.encoding,
    tree: { './DevInfo/Mod': MODEL },
    ...(options.maxMsgSize ? { maxMsgSize: options.maxMsgSize } : {}),
  });
}

const sessionRows = (deviceId: string) => selectRows<Record<string, unknown>>(server.ctx.db, 'select * from dm_sessions where device_id = ?', deviceId);

/** Whether a session row shows the secret: as text (an XML reply kept as its text too), or inside a reply stored as base64. */
function shows(row: Record<string, unknown>, secret: string): boolean {
  const reply = typeof row.last_reply === 'string' ? Buffer.from(row.last_reply, 'base64').toString('latin1') : '';
  return JSON.stringify(row).includes(secret) || reply.includes(secret);
}

const replaces = (reply: ReplyInfo | undefined) => (reply?.commands ?? []).some((c) => c.name === 'Replace');

describe.each([
  { encoding: 'xml' as const, skip: false },
  { encoding: 'wbxml' as const, skip: !wbxmlTools },
])('a credential rotation in $encoding', ({ encoding, skip }) => {
  it.skipIf(skip)('keeps the new secret out of the session row, resends the lost reply with the same secret, and the secret opens the next session', async () => {
    const id = `SN:SEALED-${encoding}`;
    const client = await claimedDevice(id, `claim-sealed-${encoding}`, { encoding });
    // Package 1, the challenge, then the reply with the new credentials: stop there.
    const first = await client.session({ maxMessages: 2 });
    const rotation = first.exchanges.at(-1);
    expect(replaces(rotation?.response.reply)).toBe(true);
    const secret = client.tree.get(SECRET_NODE) ?? '';
    const serverSecret = client.tree.get(SERVER_SECRET_NODE) ?? '';
    expect(secret.length).toBeGreaterThanOrEqual(20);
    expect(serverSecret.length).toBeGreaterThanOrEqual(20);

    const [row] = await sessionRows(id);
    if (!row) throw new Error('no session row');
    expect(String(row.last_reply)).toMatch(/^sealed:/);
    expect(shows(row, secret)).toBe(false);
    expect(shows(row, serverSecret)).toBe(false);

    // The reply was lost: the same message again gets the same reply, the same secret in it.
    const again = await client.resendLast();
    expect(again.response.httpStatus).toBe(200);
    expect(Buffer.from(again.response.body).equals(Buffer.from(rotation?.response.body ?? []))).toBe(true);
    expect(again.response.xml).toContain(secret);

    // The device answers; the rotation commits and the new secret opens the next session.
    await finish(client, again);
    for (const r of await sessionRows(id)) expect(shows(r, secret)).toBe(false);
    const next = new DmTestClient({ url: client.options.url, devId: id, username: id, password: secret, encoding, tree: { './DevInfo/Mod': MODEL } });
    await expect(next.session()).resolves.toMatchObject({ end: 'completed', authenticated: true });
  }, 60_000);
});

it.skipIf(!wbxmlTools)('seals a secret that waits for the next message of a small-message device, and sends it whole', async () => {
  const id = 'SN:SEALED-SMALL';
  // Small enough that the three Replaces of the rotation do not fit one reply (WBXML: the
  // smallest messages), large enough for one of them.
  const client = await claimedDevice(id, 'claim-sealed-small', { encoding: 'wbxml', maxMsgSize: 700 });
  let exchange = (await client.session({ maxMessages: 2 })).exchanges.at(-1);
  let sealedWaiting = false;
  for (let n = 0; n < 10 && exchange?.response.reply && !isClosing(exchange.response.reply); n++) {
    const rows = await sessionRows(id);
    const secrets = [client.tree.get(SECRET_NODE), client.tree.get(SERVER_SECRET_NODE)].filter((s): s is string => s !== undefined);
    for (const row of rows) for (const s of secrets) expect(shows(row, s)).toBe(false);
    if (rows.some((r) => String(r.pending).includes('sealedData'))) sealedWaiting = true;
    exchange = await client.send(client.compose(client.replyTo(exchange.response.reply)));
  }
  expect(sealedWaiting).toBe(true);
  const secret = client.tree.get(SECRET_NODE) ?? '';
  expect(secret.length).toBeGreaterThanOrEqual(20);
  for (const row of await sessionRows(id)) expect(shows(row, secret)).toBe(false);
  const next = new DmTestClient({ url: client.options.url, devId: id, username: id, password: secret, tree: { './DevInfo/Mod': MODEL } });
  await expect(next.session()).resolves.toMatchObject({ end: 'completed', authenticated: true });
}, 60_000);

/** Answers the server until it closes the session. */
async function finish(client: DmTestClient, from: Exchange): Promise<void> {
  let exchange = from;
  for (let n = 0; n < 10; n++) {
    const reply = exchange.response.reply;
    if (!reply) throw new Error(`HTTP ${exchange.response.httpStatus}`);
    if (isClosing(reply)) return;
    exchange = await client.send(client.compose(client.replyTo(reply)));
  }
  throw new Error('the session did not end');
}

describe('the reply kept for a resend', () => {
  const vault = KeyVault.fromKey(randomBytes(32));
  const get: ServerCommand = { kind: 'Get', uri: './DevDetail/FwV', purpose: 'inventory' };
  const rotation: ServerCommand = { kind: 'Replace', uri: SECRET_NODE, data: 'the-new-secret-0123456789', secret: true, purpose: 'enroll' };
  const xml = Buffer.from('<?xml version="1.0" encoding="UTF-8"?><SyncML><SyncBody><Get><Item><Data>Grüße, 端末 \u{1F4F1} &amp; "q"</Data></Item></Get><Final/></SyncBody></SyncML>');

  it('keeps an XML reply as its text and gives back the very same bytes', () => {
    const stored = replyAtRest(vault, xml, [get]);
    expect(stored).toBe(`xml:${xml.toString('utf8')}`);
    expect(Buffer.from(replyFromRest(vault, stored)).equals(xml)).toBe(true);
  });

  it('keeps a WBXML reply, and bytes that are not UTF-8 text, as base64, and gives back the very same bytes', () => {
    const wbxml = Buffer.from([0x02, 0xa4, 0x01, 0x6a, 0x00, 0x6d, 0x6c, 0x71, 0x03, 0x31, 0x2e, 0x32, 0x00, 0x01, 0x01]);
    const notText = Buffer.from([0x3c, 0x61, 0xff, 0xfe, 0x3e]);
    const withNul = Buffer.from('<a>\0</a>');
    for (const bytes of [wbxml, notText, withNul]) {
      const stored = replyAtRest(vault, bytes, [get]);
      expect(stored).toBe(bytes.toString('base64'));
      expect(Buffer.from(replyFromRest(vault, stored)).equals(bytes)).toBe(true);
    }
  });

  it('reads the reply of a row a server before this one wrote (base64)', () => {
    expect(Buffer.from(replyFromRest(vault, xml.toString('base64'))).equals(xml)).toBe(true);
  });

  it('seals an XML reply that carries a secret, and opens it to the very same bytes', () => {
    const secretXml = Buffer.from(`<?xml version="1.0"?><SyncML><Replace><Data>${rotation.data}</Data></Replace></SyncML>`);
    const stored = replyAtRest(vault, secretXml, [get, rotation]);
    expect(stored).toMatch(/^sealed:/);
    expect(stored).not.toContain(rotation.data);
    expect(Buffer.from(stored.split(':')[2] ?? '', 'base64').toString('latin1')).not.toContain(rotation.data);
    expect(Buffer.from(replyFromRest(vault, stored)).equals(secretXml)).toBe(true);
  });
});
