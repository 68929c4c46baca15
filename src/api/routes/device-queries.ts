// Helpdesk live queries (operators; admins may ask too, reading is audited): ask a device
// for presets and node paths now, read the results as they arrive, and fix a node from
// them with a one-device Replace (operators only: it changes the device); cancel one whose
// nodes the device has not picked up yet.
import { askDevice } from '../../devices/helpdesk/ask.ts';
import { cancelQuery } from '../../devices/helpdesk/cancel.ts';
import { fixNode } from '../../devices/helpdesk/fix.ts';
import { createQuerySchema, fixNodeSchema, queryViewSchema } from '../../devices/helpdesk/schemas.ts';
import { queryView } from '../../devices/helpdesk/view.ts';
import type { RouteModule } from '../router.ts';
import { answer, defineRoute, jsonBody, pathParams, refusal } from '../spec.ts';

export const askDeviceRoute = defineRoute({
  method: 'post',
  path: '/api/v1/devices/{id}/queries',
  roles: ['operator', 'admin'],
  summary: 'Ask the device now: Gets of presets and node paths in its next DM session (a Package 0 wakes it unless wake is false)',
  request: { params: pathParams('id'), body: jsonBody(createQuerySchema) },
  responses: { 202: answer('the query, its results still to come', queryViewSchema), 404: refusal('no such device') },
});

export const getQueryRoute = defineRoute({
  method: 'get',
  path: '/api/v1/devices/{id}/queries/{queryId}',
  roles: ['operator', 'admin'],
  summary: 'A live query: each node with its Status, value and the time the device answered',
  request: { params: pathParams('id', 'queryId') },
  responses: { 200: answer('the query', queryViewSchema), 404: refusal('no such device or query') },
});

export const fixNodeRoute = defineRoute({
  method: 'post',
  path: '/api/v1/devices/{id}/queries/{queryId}/fixes',
  roles: ['operator'],
  summary: 'Fix a node from a query: a one-device Replace, then a Get of the node again; recorded in the device history',
  request: { params: pathParams('id', 'queryId'), body: jsonBody(fixNodeSchema) },
  responses: { 202: answer('the query with the fix queued', queryViewSchema), 404: refusal('no such device or query'), 409: refusal('the query is full') },
});

export const cancelQueryRoute = defineRoute({
  method: 'post',
  path: '/api/v1/devices/{id}/queries/{queryId}/cancel',
  roles: ['operator', 'admin'],
  summary: 'Cancel a live query: its nodes not sent yet are never read (those already sent keep their answer); recorded in the device history',
  request: { params: pathParams('id', 'queryId') },
  responses: { 200: answer('the query, canceled', queryViewSchema), 404: refusal('no such device or query'), 409: refusal('the query is over already, or every node was sent') },
});

export const deviceQueryRoutes: RouteModule = (r) => {
  r(askDeviceRoute, async (c, ctx) => c.json(await askDevice(ctx, c.get('principal'), c.req.valid('param').id, c.req.valid('json')), 202));
  r(getQueryRoute, async (c, ctx) => {
    const { id, queryId } = c.req.valid('param');
    return c.json(await queryView(ctx, id, queryId), 200);
  });
  r(cancelQueryRoute, async (c, ctx) => {
    const { id, queryId } = c.req.valid('param');
    return c.json(await cancelQuery(ctx, c.get('principal'), id, queryId), 200);
  });
  r(fixNodeRoute, async (c, ctx) => {
    const { id, queryId } = c.req.valid('param');
    return c.json(await fixNode(ctx, c.get('principal'), id, queryId, c.req.valid('json')), 202);
  });
};
