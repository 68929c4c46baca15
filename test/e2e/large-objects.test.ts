// DM 1.2 large objects end to end: the reference agent (src/device) against a real server
// on loopback, in XML and WBXML. A 3 MB log read through chunked Results within the
// server's MaxMsgSize (one chunk message checked with Debian's wbxml2xml), a value larger
// than the device's MaxMsgSize written in chunked Replaces, and sizes just below and just
// above each side's MaxObjSize.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type AgentOptions, DeviceAgent } from '../../src/device/agent.ts';
import { loadConfig } from '../../src/config.ts';
import { decodeMessage } from '../../src/omadm/codec/syncml.ts';
import { CONTENT_TYPE_WBXML, CONTENT_TYPE_XML, type SyncMessage } from '../../src/omadm/codec/message.ts';
import { hasTool, tempDir } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const wbxmlTools = hasTool('wbxml2xml', 'libwbxml2-utils');
const PASSWORD = 'large-object-pw';
const MODEL = 'lo-model';
const LOG = './DevDetail/Ext/Log';
const MB3 = 3 * 1024 * 1024;

let server: TestServer;
/** A server with small limits, for the sizes around MaxObjSize. */
let small: TestServer;
const SMALL_MAX_OBJ = 100_000;

beforeAll(async () => {
  const defaults = loadConfig({});
  server = await startTestServer();
  small = await startTestServer({ dm: { ...defaults.dm, maxMessageBytes: 16 * 1024, maxObjectBytes: SMALL_MAX_OBJ } });
});

let count = 0;
async function agentFor(on: TestServer, encoding: 'xml' | 'wbxml', options: Partial<AgentOptions> = {}): Promise<{ agent: DeviceAgent; id: string; sent: SyncMessage[]; sentBytes: Uint8Array[]; received: Uint8Array[] }> {
  count += 1;
  const id = `lo-${encoding}-${count}`;
  const res = await on.api('/api/v1/devices', { method: 'POST', token: on.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, model: MODEL, firmwareVersion: '1.0', credentials: { username: id, password: PASSWORD } }) });
  expect(res.status).toBe(201);
  const dir = tempDir();
  await writeFile(join(dir, 'image.bin'), 'image 1.0');
  const type = encoding === 'xml' ? CONTENT_TYPE_XML : CONTENT_TYPE_WBXML;
  const sent: SyncMessage[] = [];
  const sentBytes: Uint8Array[] = [];
  const received: Uint8Array[] = [];
  const agent = await DeviceAgent.open({
    serverUrl: on.url,
    devId: id,
    model: MODEL,
    username: id,
    password: PASSWORD,
    dataDir: join(dir, 'agent'),
    image: join(dir, 'image.bin'),
    version: '1.0',
    trust: { keys: [] },
    encoding,
    tap: (out, back) => {
      sentBytes.push(out);
      sent.push(decodeMessage(out, type, { maxBytes: 4 * 1024 * 1024, maxDepth: 32, maxElements: 20_000 }));
      received.push(back);
    },
    ...options,
  });
  return { agent, id, sent, sentBytes, received };
}

async function queue(on: TestServer, id: string, op: { command: string; uri: string; data?: string }): Promise<string> {
  const res = await on.api(`/api/v1/devices/${id}/operations`, { method: 'POST', token: on.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify(op) });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function operation(on: TestServer, id: string, opId: string) {
  return (await (await on.api(`/api/v1/devices/${id}/operations/${opId}`, { token: on.tokens.operator })).json()) as { status: string; statusCode?: number; result?: Array<{ uri: string; data: string }> };
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const chunksOf = (messages: SyncMessage[]) => messages.flatMap((m) => m.commands.flatMap((c) => (c.kind === 'Results' || c.kind === 'Replace' ? c.items.filter((i) => i.moreData) : [])));
const chunkRows = async (on: TestServer) => (await on.ctx.db.q.select().from(on.ctx.db.t.dmObjectChunks)).length;

describe.each(['xml', 'wbxml'] as const)('large objects (%s)', (encoding) => {
  it('reads a 3 MB log from the device in chunked Results, each message within the server MaxMsgSize', async () => {
    const { agent, id, sent, sentBytes } = await agentFor(server, encoding, { logBytes: MB3 });
    const opId = await queue(server, id, { command: 'Get', uri: LOG });
    await agent.runOnce();

    const op = await operation(server, id, opId);
    expect(op.status).toBe('done');
    expect(op.statusCode).toBe(200);
    const log = op.result?.[0];
    expect(log?.uri).toBe(LOG);
    const expected = agent.tree.get(LOG);
    if (expected.status !== 200) throw new Error('the agent has no log');
    expect(log?.data.length).toBe(MB3);
    expect(sha(log?.data ?? '')).toBe(sha(expected.value.data));

    // 3 MB in messages of at most 256 KB: a dozen chunks, the first declaring the size.
    const chunks = chunksOf(sent);
    expect(chunks.length).toBeGreaterThanOrEqual(12);
    expect(chunks[0]?.meta?.size).toBe(MB3);
    for (const bytes of sentBytes) expect(bytes.length).toBeLessThanOrEqual(server.ctx.config.dm.maxMessageBytes);
    // Chunk messages have no Final: the device's package goes on.
    for (const m of sent.filter((m) => chunksOf([m]).length > 0)) expect(m.final).toBe(false);
    // The log stays in the operation, not in the device's inventory; nothing is left buffered.
    const device = (await (await server.api(`/api/v1/devices/${id}`, { token: server.tokens.operator })).json()) as { inventory: Record<string, unknown> };
    expect(Object.keys(device.inventory)).not.toContain(LOG);
    expect(await chunkRows(server)).toBe(0);

    if (encoding === 'wbxml' && wbxmlTools) {
      // libwbxml reads a chunk message as we wrote it: MoreData, Size in MetInf, the Data.
      const at = sent.findIndex((m) => chunksOf([m]).length > 0);
      const dir = tempDir();
      writeFileSync(join(dir, 'chunk.wbxml'), sentBytes[at] ?? new Uint8Array());
      execFileSync('wbxml2xml', ['-m', '0', '-o', join(dir, 'chunk.xml'), join(dir, 'chunk.wbxml')], { stdio: 'ignore' });
      const xml = readFileSync(join(dir, 'chunk.xml'), 'utf8');
      expect(xml).toContain('<MoreData/>');
      expect(xml).toMatch(new RegExp(`<Size[^>]*>${MB3}</Size>`));
      expect(xml).toContain(`0000001 ${id} event ok`);
    }
  });

  it('writes a value larger than the device MaxMsgSize in chunked Replaces', async () => {
    const maxMsgSize = 4 * 1024;
    const { agent, id, received } = await agentFor(server, encoding, { maxMsgSize, maxObjSize: 64 * 1024 });
    const value = Array.from({ length: 1500 }, (_, i) => `line ${i} é ✓\n`).join('');
    const opId = await queue(server, id, { command: 'Replace', uri: './Vendor/Config/Blob', data: value });
    await agent.runOnce();

    const op = await operation(server, id, opId);
    expect(op).toMatchObject({ status: 'done', statusCode: 200 });
    expect(agent.tree.values['./Vendor/Config/Blob']).toBe(value);
    const type = encoding === 'xml' ? CONTENT_TYPE_XML : CONTENT_TYPE_WBXML;
    const replies = received.map((b) => decodeMessage(b, type));
    expect(chunksOf(replies).length).toBeGreaterThanOrEqual(Math.floor(Buffer.byteLength(value) / maxMsgSize));
    for (const bytes of received) expect(bytes.length).toBeLessThanOrEqual(maxMsgSize);
  });
});

describe('sizes around MaxObjSize', () => {
  it.each([
    [SMALL_MAX_OBJ, 'done', 200],
    [SMALL_MAX_OBJ + 1, 'failed', 413],
  ] as const)('a device log of %i bytes with the server MaxObjSize at 100000: %s (%i)', async (bytes, state, code) => {
    const { agent, id } = await agentFor(small, 'wbxml', { logBytes: bytes });
    const opId = await queue(small, id, { command: 'Get', uri: LOG });
    await agent.runOnce();
    const op = await operation(small, id, opId);
    expect(op).toMatchObject({ status: state, statusCode: code });
    if (state === 'done') expect(op.result?.[0]?.data.length).toBe(bytes);
    else expect(op.result).toBeUndefined();
  });

  it.each([
    [20_000, 'done', 200],
    [20_001, 'failed', 413],
  ] as const)('a Replace of %i bytes to a device whose MaxObjSize is 20000: %s (%i)', async (bytes, state, code) => {
    const { agent, id } = await agentFor(server, 'xml', { maxMsgSize: 4 * 1024, maxObjSize: 20_000 });
    const value = 'v'.repeat(bytes);
    const opId = await queue(server, id, { command: 'Replace', uri: './Vendor/Blob', data: value });
    await agent.runOnce();
    expect(await operation(server, id, opId)).toMatchObject({ status: state, statusCode: code });
    expect(agent.tree.values['./Vendor/Blob']).toBe(state === 'done' ? value : undefined);
  });
});
