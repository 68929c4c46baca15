// `--confirm TEXT [--confirm-wait DURATION] [--confirm-default accept|reject]` on
// `fota app device`, `fota baseline set`, `fota profile apply` and `fota device query`:
// the option reaches the server as `confirm`, stored with the work item it gates; bad use
// is exit 2 naming the flag.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import type { Output } from '../../src/cli/io.ts';
import { pseudoRandom } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const MODEL = 'cli-ask-model';
const DEVICE = 'cli-ask-dev';
let server: TestServer;

beforeAll(async () => {
  vi.stubEnv('FOTA_TOKEN', '');
  vi.stubEnv('FOTA_SERVER', '');
  server = await startTestServer();
  expect((await server.upload(MODEL, '1.0', pseudoRandom(4096, 'cli-ask'))).status).toBe('ready');
  const app = await server.api(`/api/v1/apps?model=${MODEL}&component=com.acme.notes&version=1.0`, { method: 'POST', token: server.tokens.acme, body: pseudoRandom(4000, 'cli-notes'), headers: { 'content-type': 'application/octet-stream' } });
  expect(app.status).toBe(201);
  const json = { token: server.tokens.operator, method: 'POST', headers: { 'content-type': 'application/json' } };
  expect((await server.api('/api/v1/devices', { ...json, body: JSON.stringify({ id: DEVICE, model: MODEL, firmwareVersion: '1.0', credentials: { username: DEVICE, password: 'password-1' } }) })).status).toBe(201);
  expect((await server.api('/api/v1/profiles', { ...json, body: JSON.stringify({ name: 'cli-ask', model: MODEL, operations: [{ command: 'Replace', uri: './Vendor/X', data: '1' }] }) })).status).toBe(201);
});
afterAll(() => {
  vi.unstubAllEnvs();
});

async function run(args: string[]) {
  let stdout = '';
  let stderr = '';
  const io: Output = { out: (t) => void (stdout += t), err: (t) => void (stderr += t), interactive: false };
  const code = await main([...args, '--server', server.url, '--token', server.tokens.operator], io);
  return { code, stdout, stderr };
}

async function policyOf(prefix: string) {
  const rows = await server.ctx.db.q.select().from(server.ctx.db.t.confirmationPolicies);
  return rows.filter((r) => r.subjectId.startsWith(prefix));
}

describe('--confirm', () => {
  it('asks before a SCOMO install, with how long the device waits and what silence means', async () => {
    const result = await run(['app', 'device', DEVICE, '--install', 'com.acme.notes@1.0', '--confirm', 'Install Notes?', '--confirm-wait', '2m', '--confirm-default', 'reject']);
    expect(result.code, result.stderr).toBe(0);
    expect(await policyOf('sdp_')).toEqual([expect.objectContaining({ subjectId: result.stdout.trim(), text: 'Install Notes?', maxSeconds: 120, defaultResponse: 'reject', eachStep: false })]);
  });

  it('puts the question in the baseline', async () => {
    const result = await run(['baseline', 'set', '--model', MODEL, '--app', 'com.acme.notes@1.0', '--confirm', 'Install the standard apps?']);
    expect(result.code, result.stderr).toBe(0);
    const shown = await run(['baseline', 'show', '--model', MODEL, '--json']);
    expect(JSON.parse(shown.stdout)).toMatchObject({ confirm: { text: 'Install the standard apps?', maxSeconds: 300 } });
  });

  it('asks before a profile apply', async () => {
    const result = await run(['profile', 'apply', 'cli-ask@1', '--device', DEVICE, '--no-notify', '--confirm', 'Change the APN?']);
    expect(result.code, result.stderr).toBe(0);
    expect(await policyOf('pap_')).toEqual([expect.objectContaining({ text: 'Change the APN?', maxSeconds: 300, defaultResponse: null })]);
  });

  it('asks before a live query, and says so', async () => {
    const result = await run(['device', 'query', DEVICE, '--node', './DevInfo/Mod', '--no-wake', '--confirm', 'May the helpdesk read your settings?']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('the device asks its user first: "May the helpdesk read your settings?"');
    expect(await policyOf('qry_')).toEqual([expect.objectContaining({ text: 'May the helpdesk read your settings?' })]);
  });

  it.each([
    [['app', 'device', DEVICE, '--confirm', 'ok?'], '--confirm goes with an operation'],
    [['app', 'device', DEVICE, '--install', 'com.acme.notes@1.0', '--confirm', ' '], '--confirm takes the text'],
    [['profile', 'apply', 'cli-ask@1', '--device', DEVICE, '--confirm-wait', '2m'], '--confirm-wait and --confirm-default go with --confirm TEXT'],
    [['profile', 'apply', 'cli-ask@1', '--device', DEVICE, '--confirm', 'ok?', '--confirm-default', 'maybe'], '--confirm-default takes accept or reject'],
    [['device', 'query', DEVICE, '--node', './DevInfo/Mod', '--confirm', 'ok?', '--confirm-wait', 'soon'], '--confirm-wait takes a duration'],
    [['device', 'query', DEVICE, '--node', './DevInfo/Mod', '--confirm', 'x'.repeat(1001)], '--confirm takes at most 1000 characters'],
  ])('refuses %j (exit 2)', async (args, message) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });
});
