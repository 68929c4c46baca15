// Enrollment batch routes: create, list, read and the once-only export; bad input refused
// with a clear error and nothing created; every role but operator kept out of the
// secrets, and a batch id alone is not enough to get them.
import { beforeAll, describe, expect, it } from 'vitest';
import { devicePassword } from '../../src/devices/devices.ts';
import type { BatchExport, BatchView } from '../../src/enroll/schemas.ts';
import { decodeCpWbxml } from '../../src/omadm/provisioning/cp-wbxml.ts';
import { accountFromCp } from '../../src/omadm/provisioning/cp-document.ts';
import { readDmBootstrap } from '../../src/omadm/provisioning/dm-bootstrap.ts';
import { findDevice } from '../../src/store/queries/devices.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { selectRows } from '../support/sql.ts';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi({}, undefined);
});

async function create(json: unknown, token = api.tokens.operator): Promise<Response> {
  return api.request('/api/v1/enrollments', { method: 'POST', token, json });
}

async function created(json: unknown): Promise<BatchView> {
  const res = await create(json);
  const text = await res.text();
  expect(res.status, text).toBe(201);
  return JSON.parse(text) as BatchView;
}

describe('enrollment batches: happy path', () => {
  it('creates a batch from listed ids, registers the devices with sealed secrets and shows none', async () => {
    const batch = await created({ name: 'lot 1', model: 'router-e', deviceIds: ['IMEI:490154203237518', 'IMEI:490154203237519'], tags: ['factory-1'] });
    expect(batch).toMatchObject({ name: 'lot 1', model: 'router-e', size: 2, authType: 'md5', claim: null, exportedAt: null, devices: { issued: 2, awaitingClaim: 0, enrolled: 0 } });
    expect(batch.serverAddress).toMatch(/\/dm$/);
    const device = await findDevice(api.ctx.db, 'IMEI:490154203237518');
    expect(device).toMatchObject({ model: 'router-e', authName: 'IMEI:490154203237518', tags: '["factory-1"]' });
    const secret = devicePassword(api.ctx, device ?? (undefined as never));
    expect(secret.length).toBeGreaterThanOrEqual(24);
    // Sealed at rest: the secret appears in no column of the database.
    const rows = await selectRows(api.ctx.db, `SELECT * FROM devices WHERE id = 'IMEI:490154203237518'`);
    expect(JSON.stringify(rows)).not.toContain(secret);
    expect(JSON.stringify(batch)).not.toContain(secret);
  });

  it('exports each device\'s own credentials once, in documents that read back to them; a second export is refused', async () => {
    const batch = await created({ name: 'lot 2', model: 'router-e', count: 3, authType: 'basic', serverAddress: 'https://dm.example.com/dm' });
    const res = await api.request(`/api/v1/enrollments/${batch.id}/export`, { method: 'POST', token: api.tokens.operator });
    expect(res.status).toBe(200);
    const body = (await res.json()) as BatchExport;
    expect(body.batch.exportedAt).not.toBeNull();
    expect(body.files.map((f) => f.path)).toHaveLength(1 + 3 * 3);
    const manifest = body.files[0]?.content.trim().split('\n') ?? [];
    expect(manifest).toHaveLength(4);
    const id = manifest[1]?.split(',')[0] ?? '';
    const stem = id.replace(':', '_');
    const cp = body.files.find((f) => f.path === `devices/${stem}.cp.wbxml`);
    const dm = body.files.find((f) => f.path === `devices/${stem}.dm.wbxml`);
    const device = await findDevice(api.ctx.db, id);
    const secret = devicePassword(api.ctx, device ?? (undefined as never));
    const fromCp = accountFromCp(decodeCpWbxml(Buffer.from(cp?.content ?? '', 'base64')));
    expect(fromCp).toMatchObject({ address: 'https://dm.example.com/dm', authType: 'BASIC', client: { name: id, secret } });
    expect(readDmBootstrap(Buffer.from(dm?.content ?? '', 'base64'))).toEqual({ devId: id, account: fromCp });
    expect(body.files.find((f) => f.path === `devices/${stem}.cp.xml`)?.content).toContain(`<parm name="AAUTHSECRET" value="${secret}"/>`);

    const again = await api.request(`/api/v1/enrollments/${batch.id}/export`, { method: 'POST', token: api.tokens.operator });
    expect(again.status).toBe(409);
    const refused = await again.text();
    expect(refused).toMatch(/was exported on .*: its secrets are shown once/);
    expect(refused).not.toContain(secret);
    const events = await api.request(`/api/v1/audit?subject=${batch.id}`, { token: api.tokens.operator });
    const actions = ((await events.json()) as { items: Array<{ action: string; details: unknown }> }).items;
    expect(actions.map((a) => a.action).sort()).toEqual(['enroll.batch-create', 'enroll.export']);
    expect(JSON.stringify(actions)).not.toContain(secret);
  });

  it('lists batches newest first, to operators and admins', async () => {
    for (const token of [api.tokens.operator, api.tokens.admin]) {
      const res = await api.request('/api/v1/enrollments?limit=1', { token });
      expect(res.status).toBe(200);
      const page = (await res.json()) as { items: BatchView[]; nextCursor: string | null };
      expect(page.items).toHaveLength(1);
      expect(page.nextCursor).not.toBeNull();
    }
  });
});

describe('enrollment batches: bad input changes nothing', () => {
  const bad: Array<[string, unknown, number, RegExp]> = [
    ['ids and a count', { name: 'x', model: 'm', deviceIds: ['SN:1'], count: 1 }, 400, /either deviceIds or count/],
    ['neither ids nor a count', { name: 'x', model: 'm' }, 400, /either deviceIds or count/],
    ['an id twice', { name: 'x', model: 'm', deviceIds: ['SN:1', 'SN:1'] }, 400, /twice/],
    ['a device id with a path in it', { name: 'x', model: 'm', deviceIds: ['../etc/passwd'] }, 400, /deviceIds/],
    ['a subscriber node with ..', { name: 'x', model: 'm', count: 1, subscriberNode: './DevDetail/../DMAcc/fota' }, 400, /must not contain "\.\."/],
    ['a subscriber node outside the tree', { name: 'x', model: 'm', count: 1, subscriberNode: '/etc/passwd' }, 400, /DM tree path/],
    ['too many devices', { name: 'x', model: 'm', count: 10_001 }, 400, /count/],
    ['a server address that is not http', { name: 'x', model: 'm', count: 1, serverAddress: 'file:///etc/passwd' }, 400, /serverAddress/],
    ['a claim name with spaces', { name: 'x', model: 'm', count: 1, claim: { name: 'a b' } }, 400, /claim/],
  ];
  it.each(bad)('refuses %s', async (_name, json, status, message) => {
    const before = await selectRows(api.ctx.db, 'SELECT count(*) AS n FROM enrollment_batches');
    const res = await create(json);
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(message);
    expect(await selectRows(api.ctx.db, 'SELECT count(*) AS n FROM enrollment_batches')).toEqual(before);
  });

  it('refuses a claim name another batch uses, and devices already registered, creating nothing', async () => {
    await created({ name: 'lot c', model: 'router-e', deviceIds: ['SN:C1'], claim: { name: 'claim-c' } });
    const reused = await create({ name: 'lot d', model: 'router-e', deviceIds: ['SN:D1'], claim: { name: 'claim-c' } });
    expect(reused.status).toBe(409);
    expect(await reused.text()).toMatch(/claim claim-c is already used by another batch/);
    const taken = await create({ name: 'lot e', model: 'router-e', deviceIds: ['SN:E1', 'SN:C1'] });
    expect(taken.status).toBe(409);
    expect(await taken.text()).toMatch(/1 of the devices are already registered \(SN:C1\)/);
    expect(await findDevice(api.ctx.db, 'SN:D1')).toBeUndefined();
    expect(await findDevice(api.ctx.db, 'SN:E1')).toBeUndefined();
  });

  it('answers 404 for an unknown batch, on read and on export', async () => {
    for (const [method, path] of [['GET', '/api/v1/enrollments/enb_nope'], ['POST', '/api/v1/enrollments/enb_nope/export']] as const) {
      const res = await api.request(path, { method, token: api.tokens.operator });
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: { code: 'NOT_FOUND', message: 'no enrollment batch enb_nope' } });
    }
  });
});

describe('enrollment batches: security', () => {
  it('knowing a batch id is not enough: no token, a manufacturer or an admin gets no export, and the batch stays unexported', async () => {
    const batch = await created({ name: 'lot s', model: 'router-e', count: 1, claim: { name: 'claim-s' } });
    const path = `/api/v1/enrollments/${batch.id}/export`;
    expect((await api.request(path, { method: 'POST' })).status).toBe(401);
    expect((await api.request(path, { method: 'POST', token: 'fota_guessed-token' })).status).toBe(401);
    for (const token of [api.tokens.acme, api.tokens.admin]) {
      const res = await api.request(path, { method: 'POST', token });
      expect(res.status).toBe(403);
      expect(await res.text()).not.toContain('AAUTHSECRET');
    }
    expect((await create({ name: 'm', model: 'router-e', count: 1 }, api.tokens.acme)).status).toBe(403);
    expect((await api.request(`/api/v1/enrollments/${batch.id}`, { token: api.tokens.acme })).status).toBe(403);
    const view = (await (await api.request(`/api/v1/enrollments/${batch.id}`, { token: api.tokens.operator })).json()) as BatchView;
    expect(view.exportedAt).toBeNull();
  });
});

describe('resetting an enrolled device that lost its credentials', () => {
  const resetOf = (deviceId: string, json: unknown, token = api.tokens.operator) => api.request(`/api/v1/enrollments/devices/${encodeURIComponent(deviceId)}/reset`, { method: 'POST', token, json });

  it('gives it new credentials at once and answers its own bootstrap files with them; audited with the reason, no secret', async () => {
    const batch = await created({ name: 'lot r', model: 'router-e', deviceIds: ['IMEI:111', 'IMEI:222'], claim: { name: 'claim-r' } });
    const before = await findDevice(api.ctx.db, 'IMEI:111');
    const other = await findDevice(api.ctx.db, 'IMEI:222');
    const res = await resetOf('IMEI:111', { reason: 'ticket 4711: locked out after a rotation' });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const body = JSON.parse(text) as BatchExport;
    expect(body.files.map((f) => f.path)).toEqual(['manifest.csv', 'devices/IMEI_111.cp.xml', 'devices/IMEI_111.cp.wbxml', 'devices/IMEI_111.dm.wbxml']);
    expect(body.files[0]?.content.trim().split('\n')[1]).toMatch(/^IMEI:111,router-e,enb_[^,]+,DIGEST,IMEI:111,/);
    const { devId, account } = readDmBootstrap(Buffer.from(body.files[3]?.content ?? '', 'base64'));
    expect(devId).toBe('IMEI:111');
    const after = await findDevice(api.ctx.db, 'IMEI:111');
    expect(after?.authName).toBe('IMEI:111');
    expect(account.client.secret).toBe(devicePassword(api.ctx, after ?? (undefined as never)));
    expect(account.client.secret).not.toBe(devicePassword(api.ctx, before ?? (undefined as never)));
    // The other device of the batch is untouched; this one is enrolled again at its next session.
    expect(await findDevice(api.ctx.db, 'IMEI:222')).toEqual(other);
    const view = (await (await api.request(`/api/v1/enrollments/${batch.id}`, { token: api.tokens.operator })).json()) as BatchView;
    expect(view.devices).toEqual({ issued: 1, awaitingClaim: 1, enrolled: 0 });
    const events = await selectRows<{ actor: string; details: string }>(api.ctx.db, "SELECT actor, details FROM audit_events WHERE action = 'enroll.reset' AND subject = 'IMEI:111'");
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0]?.details ?? '{}')).toMatchObject({ batchId: batch.id, reason: 'ticket 4711: locked out after a rotation', was: 'awaiting-claim' });
    expect(events[0]?.details).not.toContain(account.client.secret);
  });

  it('refuses a device no batch enrolled, an unknown device and a missing reason, changing nothing', async () => {
    await api.request('/api/v1/devices', { method: 'POST', token: api.tokens.operator, json: { id: 'plain-1', model: 'router-e', credentials: { username: 'plain-1', password: 'plain-password-1' } } });
    const plain = await findDevice(api.ctx.db, 'plain-1');
    for (const id of ['plain-1', 'no-such-device']) {
      const res = await resetOf(id, { reason: 'why not' });
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: { code: 'NOT_FOUND', message: expect.stringMatching(/came through no enrollment batch/) } });
    }
    expect((await findDevice(api.ctx.db, 'plain-1'))?.authSecretSealed).toBe(plain?.authSecretSealed);
    await created({ name: 'lot r2', model: 'router-e', deviceIds: ['IMEI:333'] });
    const sealed = (await findDevice(api.ctx.db, 'IMEI:333'))?.authSecretSealed;
    for (const json of [{}, { reason: '   ' }, { reason: 'x', extra: 1 }]) expect((await resetOf('IMEI:333', json)).status).toBe(400);
    expect((await findDevice(api.ctx.db, 'IMEI:333'))?.authSecretSealed).toBe(sealed);
  });

  it('is operator work: no token, a manufacturer or an admin gets no credentials, and nothing changes', async () => {
    await created({ name: 'lot r3', model: 'router-e', deviceIds: ['IMEI:444'] });
    const sealed = (await findDevice(api.ctx.db, 'IMEI:444'))?.authSecretSealed;
    expect((await api.request('/api/v1/enrollments/devices/IMEI%3A444/reset', { method: 'POST', json: { reason: 'x' } })).status).toBe(401);
    for (const token of [api.tokens.acme, api.tokens.admin]) {
      const res = await resetOf('IMEI:444', { reason: 'x' }, token);
      expect(res.status).toBe(403);
      expect(await res.text()).not.toMatch(/\.dm\.wbxml|manifest\.csv/);
    }
    expect((await findDevice(api.ctx.db, 'IMEI:444'))?.authSecretSealed).toBe(sealed);
  });
});
