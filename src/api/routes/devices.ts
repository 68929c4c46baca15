// Devices (operator work): register with DM credentials, read the record and inventory,
// queue device-management operations, and send a Package 0 notification.
import { z } from 'zod';
import { deviceView, registerDevice } from '../../devices/devices.ts';
import { notifyDevice } from '../../devices/notify.ts';
import { operationView, queueOperation } from '../../devices/operations.ts';
import { deviceViewSchema, notifyOutcomeSchema, operationViewSchema, queueOperationSchema, registerDeviceSchema } from '../../devices/schemas.ts';
import { errorBodySchema, parseInput } from '../http-errors.ts';
import type { RouteModule } from '../router.ts';
import { defineRoute } from '../spec.ts';

const notFound = { 404: { description: 'no such device', schema: errorBodySchema } };

export const registerDeviceSpec = defineRoute({
  method: 'post',
  path: '/api/v1/devices',
  roles: ['operator'],
  summary: 'Register a device with its DM credentials',
  body: registerDeviceSchema,
  responses: { 201: { description: 'the device', schema: deviceViewSchema }, 409: { description: 'already registered', schema: errorBodySchema } },
});

export const getDeviceSpec = defineRoute({
  method: 'get',
  path: '/api/v1/devices/:id',
  roles: ['operator'],
  summary: 'A device: model, firmware, last seen, inventory tree, deployments',
  responses: { 200: { description: 'the device', schema: deviceViewSchema }, ...notFound },
});

export const queueOperationSpec = defineRoute({
  method: 'post',
  path: '/api/v1/devices/:id/operations',
  roles: ['operator'],
  summary: 'Queue a Get, Replace or Exec on a node; it runs at the next DM session',
  body: queueOperationSchema,
  responses: { 202: { description: 'queued', schema: z.object({ id: z.string() }) }, ...notFound },
});

export const getOperationSpec = defineRoute({
  method: 'get',
  path: '/api/v1/devices/:id/operations/:opId',
  roles: ['operator'],
  summary: 'An operation: queued, sent, done or failed, with its Status code and Results',
  responses: { 200: { description: 'the operation', schema: operationViewSchema }, ...notFound },
});

export const notifySpec = defineRoute({
  method: 'post',
  path: '/api/v1/devices/:id/notify',
  roles: ['operator'],
  summary: 'Send a Package 0 notification asking the device to start a DM session',
  responses: {
    200: { description: 'what the Notifier did', schema: notifyOutcomeSchema },
    ...notFound,
  },
});

const json = async (c: { req: { json(): Promise<unknown> } }) => c.req.json().catch(() => undefined);

export const deviceRoutes: RouteModule = (r) => {
  r(registerDeviceSpec, async (c, ctx) => c.json(registerDevice(ctx, c.get('principal'), parseInput(registerDeviceSchema, await json(c), 'body')), 201));
  r(getDeviceSpec, (c, ctx) => c.json(deviceView(ctx, c.req.param('id') ?? '')));
  r(queueOperationSpec, async (c, ctx) => c.json(queueOperation(ctx, c.get('principal'), c.req.param('id') ?? '', parseInput(queueOperationSchema, await json(c), 'body')), 202));
  r(getOperationSpec, (c, ctx) => c.json(operationView(ctx, c.req.param('id') ?? '', c.req.param('opId') ?? '')));
  r(notifySpec, async (c, ctx) => c.json(await notifyDevice(ctx, c.get('principal'), c.req.param('id') ?? '')));
};
