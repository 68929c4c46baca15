// Configuration profile routes through app.request(): versions, validation of every
// operation (hostile paths, oversized values, wrong formats), applying to a device, the
// device's configuration, drift checks, configuration campaigns' refusals, and callers
// who must be turned away. A refused request changes nothing.
import { beforeAll, describe, expect, it } from 'vitest';
import { applyProfileRoute, createProfileRoute, deviceConfigurationRoute, showProfileRoute } from '../../src/api/routes/profiles.ts';
import { createTestApi, declaredBody, errorOf, type TestApi } from '../support/api.ts';
import { selectRows } from '../support/sql.ts';

let api: TestApi;
const as = (token: string, path: string, json?: unknown) => api.request(path, { token, ...(json === undefined ? {} : { method: 'POST', json }) });
const asOperator = (path: string, json?: unknown) => as(api.tokens.operator, path, json);
const good = { command: 'Replace', uri: './DMAcc/fota/AppAddr/1/Addr', data: 'https://dm2.example.net/dm', format: 'chr' };
const profile = (name: string, operations: unknown[], extra: Record<string, unknown> = {}) => ({ name, model: 'router-x', operations, ...extra });

const count = async (table: string) => Number((await selectRows<{ n: number }>(api.ctx.db, `SELECT count(*) AS n FROM ${table}`))[0]?.n);

beforeAll(async () => {
  api = await createTestApi();
  for (const [id, model] of [['R-1', 'router-x'], ['R-2', 'router-x'], ['C-1', 'camera-y']]) {
    expect((await asOperator('/api/v1/devices', { id, model, firmwareVersion: '1.0', tags: ['lab'], credentials: { username: id, password: 'password-1' } })).status).toBe(201);
  }
  expect((await asOperator('/api/v1/profiles', profile('dm-move', [good]))).status).toBe(201);
});

describe('configuration profiles', () => {
  it('creates immutable versions: a second create is version 2, and version 1 is unchanged', async () => {
    const first = await as(api.tokens.admin, '/api/v1/profiles', profile('apn', [{ command: 'Replace', uri: './Vendor/APN/Name', data: 'internet.v1' }]));
    expect(first.status).toBe(201);
    expect(await declaredBody(createProfileRoute, first)).toMatchObject({ name: 'apn', model: 'router-x', version: 1 });
    const second = await asOperator('/api/v1/profiles', profile('apn', [{ command: 'Replace', uri: './Vendor/APN/Name', data: 'internet.v2', readFirst: true }, { command: 'Delete', uri: './Vendor/APN/Old' }]));
    expect(((await second.json()) as { version: number }).version).toBe(2);
    const shown = await asOperator('/api/v1/profiles/apn');
    const view = (await declaredBody(showProfileRoute, shown)) as { latestVersion: number; versions: Array<{ version: number; operations: Array<{ data?: string }> }> };
    expect(view.latestVersion).toBe(2);
    expect(view.versions.map((v) => [v.version, v.operations[0]?.data])).toEqual([
      [1, 'internet.v1'],
      [2, 'internet.v2'],
    ]);
    expect((await asOperator('/api/v1/profiles/apn/versions/1')).status).toBe(200);
    expect((await asOperator('/api/v1/profiles/apn/versions/3')).status).toBe(404);
    const list = (await (await asOperator('/api/v1/profiles')).json()) as { items: Array<{ name: string }> };
    expect(list.items.map((p) => p.name)).toEqual(expect.arrayContaining(['apn', 'dm-move']));
  });

  const long = (n: number) => 'a'.repeat(n);
  it.each([
    ['a relative path', { ...good, uri: 'DMAcc/fota/Addr' }, 'must be an absolute DM tree path'],
    ['a ".." segment', { ...good, uri: './DMAcc/../FUMO/fota/PkgURL' }, 'must not contain a ".." segment'],
    ['a leading ".." segment', { ...good, uri: './../etc/passwd' }, 'must not contain a ".." segment'],
    ['a "." segment', { ...good, uri: './DMAcc/./fota' }, 'must not contain a "." segment'],
    ['an empty segment', { ...good, uri: './DMAcc//fota' }, 'has an empty segment'],
    ['a trailing slash', { ...good, uri: './DMAcc/fota/' }, 'has an empty segment'],
    ['the root alone', { ...good, uri: './' }, 'has an empty segment'],
    ['a control character', { ...good, uri: './DMAcc/fo\u0000ta' }, 'holds a character a node name may not'],
    ['whitespace', { ...good, uri: './DMAcc/fo ta' }, 'holds a character a node name may not'],
    ['a query', { ...good, uri: './DMAcc/fota?list=Struct' }, 'holds a character a node name may not'],
    ['a path over 255 characters', { ...good, uri: `./${long(60)}/${long(60)}/${long(60)}/${long(60)}/${long(60)}` }, 'a node path is at most 255'],
    ['a segment over 64 characters', { ...good, uri: `./${long(65)}` }, 'has a segment of 65 characters'],
    ['17 levels', { ...good, uri: `./${Array.from({ length: 17 }, () => 'a').join('/')}` }, 'is 17 levels deep'],
    ['a value over 4096 characters', { ...good, data: long(4097) }, 'a value is at most 4096 characters'],
    ['a value over 4096 bytes', { ...good, data: 'é'.repeat(2100) }, 'is over 4096 bytes'],
    ['an int that is not one', { ...good, data: '12abc', format: 'int' }, 'is not an int'],
    ['a bool that is not one', { ...good, data: 'yes', format: 'bool' }, 'is not a bool'],
    ['b64 that is not', { ...good, data: 'not base64!', format: 'b64' }, 'is not base64'],
    ['a float that is not', { ...good, data: '1.2.3', format: 'float' }, 'is not a float'],
    ['an unknown format', { ...good, format: 'node' }, 'format'],
    ['a Replace without a value', { command: 'Replace', uri: './Vendor/X' }, 'needs a non-empty value'],
    ['an Add with an empty value', { command: 'Add', uri: './Vendor/X', data: '' }, 'needs a non-empty value'],
    ['a Delete with a value', { command: 'Delete', uri: './Vendor/X', data: '1' }, 'takes no value'],
    ['a command profiles do not send', { command: 'Copy', uri: './Vendor/X', data: '1' }, 'command'],
    ['an unknown field', { ...good, target: './Vendor/Y' }, 'target'],
    ['a bad MIME type', { ...good, type: 'text plain' }, 'must be a MIME type'],
  ])('refuses %s and stores nothing', async (_what, operation, message) => {
    const [profiles, versions] = [await count('profiles'), await count('profile_versions')];
    const res = await asOperator('/api/v1/profiles', profile('hostile', [operation]));
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toContain(message);
    expect([await count('profiles'), await count('profile_versions')]).toEqual([profiles, versions]);
  });

  it.each([
    ['no operations', profile('empty', []), 'at least one operation'],
    ['101 operations', profile('many', Array.from({ length: 101 }, (_, i) => ({ ...good, uri: `./Vendor/N${i}` }))), 'at most 100 operations'],
    ['one node written twice', profile('twice', [good, { ...good, data: 'https://other.example/dm' }]), 'is written twice'],
    ['a name with "@"', profile('bad@name', [good]), 'must be 1-64 letters'],
    ['a name with a slash', profile('../x', [good]), 'must be 1-64 letters'],
    ['no model', { name: 'nomodel', operations: [good] }, 'model'],
  ])('refuses a profile with %s', async (_what, body, message) => {
    const res = await asOperator('/api/v1/profiles', body);
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toContain(message);
    expect((await asOperator(`/api/v1/profiles/${encodeURIComponent(body.name)}`)).status).toBe(404);
  });

  it('refuses a new version of a profile for another model, and keeps the profile as it was', async () => {
    const res = await asOperator('/api/v1/profiles', { ...profile('dm-move', [good]), model: 'camera-y' });
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toEqual({ code: 'VALIDATION', message: 'profile dm-move is for model router-x, not camera-y; a profile holds one model\'s settings (choose another name)' });
    expect(((await (await asOperator('/api/v1/profiles/dm-move')).json()) as { latestVersion: number }).latestVersion).toBe(1);
  });

  it('applies a version to one device: its commands wait for the next session, visible as an application', async () => {
    const res = await asOperator('/api/v1/devices/R-1/profile', { profile: 'apn@2', notify: false });
    expect(res.status).toBe(202);
    const { applicationId } = (await declaredBody(applyProfileRoute, res)) as { applicationId: string };
    const ops = await selectRows<{ command: string; uri: string; state: string }>(api.ctx.db, "SELECT command, uri, state FROM dm_operations WHERE device_id = 'R-1' ORDER BY created_at, id");
    // The old value first (readFirst), the writes, then the value read back.
    expect(ops.map((o) => `${o.command} ${o.uri} ${o.state}`)).toEqual(['Get ./Vendor/APN/Name queued', 'Replace ./Vendor/APN/Name queued', 'Delete ./Vendor/APN/Old queued', 'Get ./Vendor/APN/Name queued']);
    const config = await asOperator('/api/v1/devices/R-1/configuration');
    expect(await declaredBody(deviceConfigurationRoute, config)).toMatchObject({ deviceId: 'R-1', values: [], applications: [{ id: applicationId, reason: 'device', state: 'queued', statuses: [] }] });
    expect((await asOperator(`/api/v1/devices/R-1/profile-applications/${applicationId}`)).status).toBe(200);
    // Knowing the id is not enough: another device's path does not show it.
    expect((await asOperator(`/api/v1/devices/R-2/profile-applications/${applicationId}`)).status).toBe(404);
  });

  it.each([
    ['a profile for another model', 'C-1', { profile: 'dm-move@1' }, 400, 'profile dm-move@1 is for model router-x; device C-1\'s model is camera-y'],
    ['an unknown profile', 'R-2', { profile: 'nothing@1' }, 404, 'no profile nothing'],
    ['an unknown version', 'R-2', { profile: 'dm-move@9' }, 404, 'profile dm-move has no version 9'],
    ['an unknown device', 'ghost', { profile: 'dm-move@1' }, 404, 'no device ghost'],
    ['a malformed reference', 'R-2', { profile: 'dm-move@latest' }, 400, 'must be NAME@VERSION'],
  ])('refuses to apply %s and queues nothing', async (_what, device, body, status, message) => {
    const before = await count('dm_operations');
    const res = await asOperator(`/api/v1/devices/${device}/profile`, body);
    expect(res.status).toBe(status);
    expect((await errorOf(res)).message).toContain(message);
    expect(await count('dm_operations')).toBe(before);
  });

  it('queues a drift check (reads only) for a cohort of the profile\'s model, and refuses another model\'s cohort', async () => {
    const res = await asOperator('/api/v1/profiles/dm-move/drift-check', { cohort: { deviceIds: ['R-2'] } });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ devices: 1 });
    const ops = await selectRows<{ command: string }>(api.ctx.db, "SELECT command FROM dm_operations WHERE device_id = 'R-2'");
    expect(ops.map((o) => o.command)).toEqual(['Get']);
    const before = await count('dm_operations');
    const other = await asOperator('/api/v1/profiles/dm-move/drift-check', { cohort: { model: 'camera-y' } });
    expect(other.status).toBe(400);
    expect(await count('dm_operations')).toBe(before);
  });

  it.each([
    ['a profile for another model', { profile: 'dm-move@1', cohort: { model: 'camera-y' } }, 'profile dm-move@1 is for model router-x; the cohort model is camera-y'],
    ['both a build and a profile', { profile: 'dm-move@1', buildId: 'bld_x' }, 'not both'],
    ['neither a build nor a profile', {}, 'give a buildId'],
    ['a dynamic cohort', { profile: 'dm-move@1', dynamic: true }, 'is not dynamic'],
    ['download-only mode', { profile: 'dm-move@1', mode: 'downloadOnly' }, 'mode downloadOnly is for firmware'],
  ])('refuses a configuration campaign with %s, and creates nothing', async (_what, body, message) => {
    const before = await count('campaigns');
    const res = await asOperator('/api/v1/campaigns', { name: 'cfg', stages: [{ percent: 100 }], ...body });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toContain(message);
    expect(await count('campaigns')).toBe(before);
  });

  it('creates a configuration campaign beside firmware ones, and shows it as one', async () => {
    const res = await asOperator('/api/v1/campaigns', { name: 'dm move', profile: 'dm-move@1', stages: [{ percent: 100 }] });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const view = await (await asOperator(`/api/v1/campaigns/${id}`)).json();
    expect(view).toMatchObject({ kind: 'configuration', buildId: null, model: 'router-x', targetVersion: 'dm-move@1', cohort: { model: 'router-x' } });
    const list = (await (await asOperator('/api/v1/campaigns')).json()) as { items: Array<{ id: string; kind: string }> };
    expect(list.items.find((c) => c.id === id)?.kind).toBe('configuration');
  });
});

describe('configuration profiles: attackers', () => {
  const routes: Array<[string, string, unknown?]> = [
    ['POST', '/api/v1/profiles', profile('evil', [good])],
    ['GET', '/api/v1/profiles'],
    ['GET', '/api/v1/profiles/dm-move'],
    ['GET', '/api/v1/profiles/dm-move/versions/1'],
    ['POST', '/api/v1/profiles/dm-move/drift-check', {}],
    ['POST', '/api/v1/devices/R-1/profile', { profile: 'dm-move@1' }],
    ['GET', '/api/v1/devices/R-1/configuration'],
    ['GET', '/api/v1/devices/R-1/profile-applications/pap_x'],
  ];

  it.each(routes)('%s %s refuses no token, an unknown token and a manufacturer token, and changes nothing', async (method, path, body) => {
    const before = [await count('profiles'), await count('profile_versions'), await count('dm_operations'), await count('profile_applications')];
    for (const token of [undefined, 'fota_forged-token-000000', api.tokens.acme, api.tokens.globex]) {
      const res = await api.request(path, { method, ...(token ? { token } : {}), ...(body === undefined ? {} : { json: body }) });
      expect(res.status, `${String(token)}`).toBe(token?.startsWith('fota_forged') || token === undefined ? 401 : 403);
    }
    expect([await count('profiles'), await count('profile_versions'), await count('dm_operations'), await count('profile_applications')]).toEqual(before);
  });

  it('a manufacturer cannot start a configuration campaign either', async () => {
    const res = await as(api.tokens.acme, '/api/v1/campaigns', { name: 'evil', profile: 'dm-move@1', stages: [{ percent: 100 }] });
    expect(res.status).toBe(403);
  });
});
