// The `confirm` option of SCOMO operations, baselines, profile applications, live queries
// and fixes, attacked over real HTTP: a prompt too long for a device's screen, an empty one,
// MINDT/MAXDT out of range, not whole seconds or crossed, a default response that is no
// answer, fields the API does not know; each is refused with 400 and nothing is stored
// (no policy, no queued work). Only operators may ask; a device cannot answer a prompt
// that was sent to another device.
import { beforeAll, describe, expect, it } from 'vitest';
import { recordUserAnswer } from '../../src/devices/user-gate.ts';
import { pseudoRandom } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const MODEL = 'confirm-fields-model';
const DEVICE = 'confirm-fields-dev';
let server: TestServer;
let queryId: string;

const send = (path: string, body: unknown, method = 'POST', token = server.tokens.operator) => server.api(path, { method, token, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

beforeAll(async () => {
  server = await startTestServer();
  expect((await server.upload(MODEL, '1.0', pseudoRandom(4096, 'confirm-fields'))).status).toBe('ready');
  const app = await server.api(`/api/v1/apps?model=${MODEL}&component=com.acme.notes&version=1.0`, { method: 'POST', token: server.tokens.acme, body: pseudoRandom(4000, 'notes'), headers: { 'content-type': 'application/octet-stream' } });
  expect(app.status).toBe(201);
  expect((await send('/api/v1/devices', { id: DEVICE, model: MODEL, firmwareVersion: '1.0', credentials: { username: DEVICE, password: 'password-1' } })).status).toBe(201);
  expect((await send('/api/v1/profiles', { name: 'fields-profile', model: MODEL, operations: [{ command: 'Replace', uri: './Vendor/X', data: '1' }] })).status).toBe(201);
  const query = await send(`/api/v1/devices/${DEVICE}/queries`, { nodes: ['./DevInfo/Mod'], wake: false });
  expect(query.status).toBe(202);
  queryId = ((await query.json()) as { id: string }).id;
});

/** Each route that takes `confirm`, with a body that is valid without it. */
const ROUTES: Array<[string, string, string, (confirm: unknown) => unknown]> = [
  ['a SCOMO operation', 'POST', `/api/v1/devices/${DEVICE}/apps`, (confirm) => ({ operation: 'install', component: 'com.acme.notes', version: '1.0', confirm })],
  ['a baseline', 'PUT', `/api/v1/baselines/${MODEL}`, (confirm) => ({ apps: [], confirm })],
  ['a profile application', 'POST', `/api/v1/devices/${DEVICE}/profile`, (confirm) => ({ profile: 'fields-profile@1', notify: false, confirm })],
  ['a live query', 'POST', `/api/v1/devices/${DEVICE}/queries`, (confirm) => ({ nodes: ['./DevInfo/Man'], wake: false, confirm })],
  ['a fix', 'POST', `/api/v1/devices/${DEVICE}/queries/{query}/fixes`, (confirm) => ({ uri: './Vendor/X', data: '2', confirm })],
];

const HOSTILE: Array<[string, unknown]> = [
  ['a prompt longer than a screen takes (1001 characters)', { text: 'x'.repeat(1001), maxSeconds: 60 }],
  ['a megabyte of prompt', { text: 'x'.repeat(1024 * 1024), maxSeconds: 60 }],
  ['an empty prompt', { text: '   ', maxSeconds: 60 }],
  ['no MAXDT', { text: 'ok?' }],
  ['MAXDT 0', { text: 'ok?', maxSeconds: 0 }],
  ['MAXDT past a day', { text: 'ok?', maxSeconds: 86_401 }],
  ['MAXDT not whole seconds', { text: 'ok?', maxSeconds: 1.5 }],
  ['MAXDT as text (it would reach the options Item)', { text: 'ok?', maxSeconds: '60&DR=1' }],
  ['MINDT negative', { text: 'ok?', maxSeconds: 60, minSeconds: -1 }],
  ['MINDT past MAXDT', { text: 'ok?', maxSeconds: 60, minSeconds: 61 }],
  ['a default response that is no answer', { text: 'ok?', maxSeconds: 60, defaultResponse: '1&MAXDT=0' }],
  ['an option the API does not know', { text: 'ok?', maxSeconds: 60, choices: ['a', 'b'] }],
  ['not an object', 'please confirm'],
];

describe.each(ROUTES)('confirm on %s', (_name, method, rawPath, body) => {
  const path = () => rawPath.replace('{query}', queryId);

  it.each(HOSTILE)('refuses %s (400) and stores nothing', async (_case, confirm) => {
    const db = server.ctx.db;
    const before = [(await db.q.select().from(db.t.confirmationPolicies)).length, (await db.q.select().from(db.t.dmOperations)).length];
    const res = await send(path(), body(confirm), method);
    expect(res.status, await res.clone().text()).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('VALIDATION');
    expect([(await db.q.select().from(db.t.confirmationPolicies)).length, (await db.q.select().from(db.t.dmOperations)).length]).toEqual(before);
  });

  it('is for operators: a manufacturer and a missing token are refused', async () => {
    const confirm = { text: 'ok?', maxSeconds: 60 };
    expect((await send(path(), body(confirm), method, server.tokens.acme)).status).toBe(403);
    const anonymous = await server.api(path(), { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body(confirm)) });
    expect(anonymous.status).toBe(401);
  });
});

it('stores a prompt with XML in it as text, to be sent escaped', async () => {
  const text = '</Data></Item><Exec><Item><Target><LocURI>./FUMO</LocURI></Target></Item></Exec> & =';
  const res = await send(`/api/v1/devices/${DEVICE}/queries`, { nodes: ['./DevInfo/Lang'], wake: false, confirm: { text, maxSeconds: 30 } });
  expect(res.status).toBe(202);
  const view = (await res.json()) as { confirmation: { text: string; state: string } };
  expect(view.confirmation).toEqual({ text, state: 'waiting', answeredAt: null });
});

it('does not let a device answer a prompt sent to another device', async () => {
  const db = server.ctx.db;
  const now = Date.now();
  await db.transaction((tx) => tx.q.insert(tx.t.userPrompts).values({ id: 'uip_victim', deviceId: DEVICE, subjectId: queryId, attempt: 1, code: '1101', text: 'ok?', askedAt: now }));
  const answered = await db.transaction((tx) => recordUserAnswer(tx, 'some-other-device', 'uip_victim', { outcome: 'accepted', code: 200, values: [] }, now));
  expect(answered).toBeUndefined();
  const [row] = (await db.q.select().from(db.t.userPrompts)).filter((p) => p.id === 'uip_victim');
  expect(row?.outcome).toBeNull();
});
