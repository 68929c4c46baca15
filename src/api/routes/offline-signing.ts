// A manufacturer's offline signing on the server: the roots of offline keys (public keys
// only), server-side revocation, and the policy that makes target statements mandatory.
import { offlinePolicyBodySchema, offlineSigningViewSchema, rootBodySchema } from '../../manufacturers/offline-schemas.ts';
import { offlineSigningView, registerRoot, revokeOfflineKey, setOfflinePolicy } from '../../manufacturers/offline-keys.ts';
import { auditActor } from '../../tokens/tokens.ts';
import { assertActsFor } from '../auth.ts';
import type { RouteModule } from '../router.ts';
import { ANY_ROLE, answer, defineRoute, jsonBody, pathParams, refusal } from '../spec.ts';

const view = answer("the manufacturer's offline signing", offlineSigningViewSchema);

export const getOfflineSigningRoute = defineRoute({
  method: 'get',
  path: '/api/v1/manufacturers/{name}/offline-keys',
  roles: ANY_ROLE,
  summary: 'Offline keys, threshold, policy and the chain of signed roots devices follow',
  request: { params: pathParams('name') },
  responses: { 200: view, 404: refusal('no such manufacturer') },
});

export const registerRootRoute = defineRoute({
  method: 'post',
  path: '/api/v1/manufacturers/{name}/offline-keys',
  roles: ['admin', 'manufacturer'],
  summary: 'Register a signed root of offline keys: version 1 signed by its own keys, or a rotation signed by the latest',
  request: { params: pathParams('name'), body: jsonBody(rootBodySchema) },
  responses: {
    200: view,
    404: refusal('no such manufacturer'),
    409: refusal('that version is already registered'),
    422: refusal('not signed as a device would require'),
  },
});

export const revokeOfflineKeyRoute = defineRoute({
  method: 'post',
  path: '/api/v1/manufacturers/{name}/offline-keys/{keyid}/revoke',
  roles: ['admin', 'manufacturer'],
  summary: 'The server stops counting an offline key (devices stop once a rotation leaves it out)',
  request: { params: pathParams('name', 'keyid') },
  responses: { 200: view, 404: refusal('no such manufacturer or key') },
});

export const setOfflinePolicyRoute = defineRoute({
  method: 'post',
  path: '/api/v1/manufacturers/{name}/offline-policy',
  roles: ['admin', 'manufacturer'],
  summary: 'Whether builds need a target statement signed by the offline keys',
  request: { params: pathParams('name'), body: jsonBody(offlinePolicyBodySchema) },
  responses: { 200: view, 404: refusal('no such manufacturer'), 409: refusal('no offline keys registered yet') },
});

export const offlineSigningRoutes: RouteModule = (r) => {
  r(getOfflineSigningRoute, async (c, ctx) => c.json(await offlineSigningView(ctx, c.req.valid('param').name), 200));
  r(registerRootRoute, async (c, ctx) => {
    const { name } = c.req.valid('param');
    assertActsFor(c.get('principal'), name);
    return c.json(await registerRoot(ctx, name, c.req.valid('json'), auditActor(c.get('principal'))), 200);
  });
  r(revokeOfflineKeyRoute, async (c, ctx) => {
    const { name, keyid } = c.req.valid('param');
    assertActsFor(c.get('principal'), name);
    return c.json(await revokeOfflineKey(ctx, name, keyid, auditActor(c.get('principal'))), 200);
  });
  r(setOfflinePolicyRoute, async (c, ctx) => {
    const { name } = c.req.valid('param');
    assertActsFor(c.get('principal'), name);
    return c.json(await setOfflinePolicy(ctx, name, c.req.valid('json'), auditActor(c.get('principal'))), 200);
  });
};
