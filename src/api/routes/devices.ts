// Devices (operator work): register with DM credentials, read the record and inventory,
// queue device-management operations, and send a Package 0 notification.
import { z } from 'zod';
import { deviceView, registerDevice } from '../../devices/devices.ts';
import { notifyDevice } from '../../devices/notify.ts';
import { operationView, queueOperation } from '../../devices/operations.ts';
import { deviceViewSchema, notifyOutcomeSchema, operationViewSchema, queueOperationSchema, registerDeviceSchema } from '../../devices/schemas.ts';
import type { RouteModule } from '../router.ts';
import { answer, defineRoute, jsonBody, pathParams, refusal } from '../spec.ts';

const notFound = { 404: refusal('no such device') };

export const registerDeviceRoute = defineRoute({
  method: 'post',
  path: '/api/v1/devices',
  roles: ['operator'],
  summary: 'Register a device with its DM credentials',
  request: { body: jsonBody(registerDeviceSchema) },
  responses: { 201: answer('the device', deviceViewSchema), 409: refusal('already registered') },
});

export const getDeviceRoute = defineRoute({
  method: 'get',
  path: '/api/v1/devices/{id}',
  roles: ['operator'],
  summary: 'A device: model, firmware, last seen, inventory tree, deployments',
  request: { params: pathParams('id') },
  responses: { 200: answer('the device', deviceViewSchema), ...notFound },
});

export const queueOperationRoute = defineRoute({
  method: 'post',
  path: '/api/v1/devices/{id}/operations',
  roles: ['operator'],
  summary: 'Queue a Get, Replace or Exec on a node; it runs at the next DM session',
  request: { params: pathParams('id'), body: jsonBody(queueOperationSchema) },
  responses: { 202: answer('queued', z.object({ id: z.string() })), ...notFound },
});

export const getOperationRoute = defineRoute({
  method: 'get',
  path: '/api/v1/devices/{id}/operations/{opId}',
  roles: ['operator'],
  summary: 'An operation: queued, sent, done or failed, with its Status code and Results',
  request: { params: pathParams('id', 'opId') },
  responses: { 200: answer('the operation', operationViewSchema), ...notFound },
});

export const notifyRoute = defineRoute({
  method: 'post',
  path: '/api/v1/devices/{id}/notify',
  roles: ['operator'],
  summary: 'Send a Package 0 notification asking the device to start a DM session',
  request: { params: pathParams('id') },
  responses: { 200: answer('what the Notifier did', notifyOutcomeSchema), ...notFound },
});

export const deviceRoutes: RouteModule = (r) => {
  r(registerDeviceRoute, async (c, ctx) => c.json(await registerDevice(ctx, c.get('principal'), c.req.valid('json')), 201));
  r(getDeviceRoute, async (c, ctx) => c.json(await deviceView(ctx, c.req.valid('param').id), 200));
  r(queueOperationRoute, async (c, ctx) => c.json(await queueOperation(ctx, c.get('principal'), c.req.valid('param').id, c.req.valid('json')), 202));
  r(getOperationRoute, async (c, ctx) => {
    const { id, opId } = c.req.valid('param');
    return c.json(await operationView(ctx, id, opId), 200);
  });
  r(notifyRoute, async (c, ctx) => c.json(await notifyDevice(ctx, c.get('principal'), c.req.valid('param').id), 200));
};
