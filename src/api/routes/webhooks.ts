// Operator webhooks (admin): register a URL to hear of campaign state changes (the
// signing secret is in the answer, once), list them with their delivery counts, remove one.
import { z } from 'zod';
import { addWebhook, removeWebhook, webhookViews } from '../../webhooks/register.ts';
import { createdWebhookSchema, createWebhookSchema, webhookSchema } from '../../webhooks/schemas.ts';
import type { RouteModule } from '../router.ts';
import { answer, defineRoute, jsonBody, pathParams, refusal } from '../spec.ts';

export const createWebhookRoute = defineRoute({
  method: 'post',
  path: '/api/v1/webhooks',
  roles: ['admin'],
  summary: 'Register an operator webhook for campaign events; the answer holds its signing secret, shown once',
  request: { body: jsonBody(createWebhookSchema) },
  responses: { 201: answer('the webhook and its secret', createdWebhookSchema) },
});

export const listWebhooksRoute = defineRoute({
  method: 'get',
  path: '/api/v1/webhooks',
  roles: ['admin'],
  summary: 'The operator webhooks, with their deliveries by state (never their secrets)',
  responses: { 200: answer('webhooks, oldest first', z.array(webhookSchema)) },
});

export const removeWebhookRoute = defineRoute({
  method: 'delete',
  path: '/api/v1/webhooks/{id}',
  roles: ['admin'],
  summary: 'Remove an operator webhook and the deliveries it is still owed',
  request: { params: pathParams('id') },
  responses: { 204: { description: 'removed' }, 404: refusal('no such webhook') },
});

export const webhookRoutes: RouteModule = (r) => {
  r(createWebhookRoute, async (c, ctx) => c.json(await addWebhook(ctx, c.get('principal'), c.req.valid('json')), 201));
  r(listWebhooksRoute, async (c, ctx) => c.json(await webhookViews(ctx), 200));
  r(removeWebhookRoute, async (c, ctx) => {
    await removeWebhook(ctx, c.get('principal'), c.req.valid('param').id);
    return c.body(null, 204);
  });
};
