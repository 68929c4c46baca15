// The device routes through app.request(): registration, the record, operations and
// Package 0, and their refusals. The 401/403 cases of every route are in security.test.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import { getDeviceRoute, getOperationRoute, notifyRoute, queueOperationRoute, registerDeviceRoute } from '../../src/api/routes/devices.ts';
import { NO_WEBHOOK_REASON } from '../../src/omadm/notifier.ts';
import { createTestApi, declaredBody, errorOf, type TestApi } from '../support/api.ts';

let api: TestApi;
const asOperator = (path: string, json?: unknown) => api.request(path, { token: api.tokens.operator, ...(json === undefined ? {} : { method: 'POST', json }) });
const register = (id: string) => asOperator('/api/v1/devices', { id, model: 'router-x', firmwareVersion: '1.0', tags: ['lab'], credentials: { username: id, password: 'password-1' } });

beforeAll(async () => {
  api = await createTestApi();
  expect((await register('DEV-0')).status).toBe(201);
});

describe('devices', () => {
  it('registers a device and shows its record', async () => {
    const res = await register('DEV-1');
    expect(res.status).toBe(201);
    expect(await declaredBody(registerDeviceRoute, res)).toMatchObject({ id: 'DEV-1', model: 'router-x', firmwareVersion: '1.0', tags: ['lab'], authType: 'md5', lastSeen: null, deployments: [] });
    const read = await asOperator('/api/v1/devices/DEV-1');
    expect(read.status).toBe(200);
    expect(await declaredBody(getDeviceRoute, read)).toMatchObject({ id: 'DEV-1', inventory: {} });
  });

  it('queues an operation for the next DM session and shows it', async () => {
    await register('DEV-2');
    const queued = await asOperator('/api/v1/devices/DEV-2/operations', { command: 'Get', uri: './DevDetail/FwV' });
    expect(queued.status).toBe(202);
    const { id } = (await declaredBody(queueOperationRoute, queued)) as { id: string };
    const read = await asOperator(`/api/v1/devices/DEV-2/operations/${id}`);
    expect(read.status).toBe(200);
    expect(await declaredBody(getOperationRoute, read)).toMatchObject({ id, command: 'Get', uri: './DevDetail/FwV', status: 'queued' });
  });

  it('says what a Package 0 came to when no webhook is configured', async () => {
    await register('DEV-3');
    const res = await asOperator('/api/v1/devices/DEV-3/notify', {});
    expect(res.status).toBe(200);
    expect(await declaredBody(notifyRoute, res)).toMatchObject({ delivered: false, reason: NO_WEBHOOK_REASON });
  });

  it('refuses a second registration of one id (409)', async () => {
    await register('DEV-4');
    const again = await register('DEV-4');
    expect(again.status).toBe(409);
    expect(await errorOf(again)).toEqual({ code: 'CONFLICT', message: 'device DEV-4 is already registered' });
  });

  it.each([
    ['GET', '/api/v1/devices/nobody', 'no device nobody'],
    ['POST', '/api/v1/devices/nobody/operations', 'no device nobody'],
    ['POST', '/api/v1/devices/nobody/notify', 'no device nobody'],
    ['GET', '/api/v1/devices/DEV-0/operations/op_nope', 'device DEV-0 has no operation op_nope'],
  ])('answers %s %s with 404', async (method, path, message) => {
    const res = await asOperator(path, method === 'POST' ? { command: 'Get', uri: './DevInfo/Mod' } : undefined);
    expect(res.status).toBe(404);
    expect(await errorOf(res)).toEqual({ code: 'NOT_FOUND', message });
  });
});
