// Manufacturer signing keys: public halves for devices to pin, rotation and revocation.
import { signingKeysSchema } from '../../manufacturers/schemas.ts';
import { publicKeysOf, revokeKey, rotateKey } from '../../manufacturers/signing-keys.ts';
import { auditActor } from '../../tokens/tokens.ts';
import { assertActsFor } from '../auth.ts';
import type { RouteModule } from '../router.ts';
import { ANY_ROLE, answer, defineRoute, pathParams, refusal } from '../spec.ts';

const responses = { 200: answer('the keys, newest first', signingKeysSchema), 404: refusal('no such manufacturer') };

export const listKeysRoute = defineRoute({
  method: 'get',
  path: '/api/v1/manufacturers/{name}/keys',
  roles: ANY_ROLE,
  summary: 'Public signing keys of a manufacturer',
  request: { params: pathParams('name') },
  responses,
});

export const rotateKeyRoute = defineRoute({
  method: 'post',
  path: '/api/v1/manufacturers/{name}/keys/rotate',
  roles: ['admin', 'manufacturer'],
  summary: 'New signing key; the old one stays valid for verification until revoked',
  request: { params: pathParams('name') },
  responses,
});

export const revokeKeyRoute = defineRoute({
  method: 'post',
  path: '/api/v1/manufacturers/{name}/keys/{keyid}/revoke',
  roles: ['admin', 'manufacturer'],
  summary: 'Stop trusting a signing key',
  request: { params: pathParams('name', 'keyid') },
  responses,
});

export const manufacturerRoutes: RouteModule = (r) => {
  r(listKeysRoute, async (c, ctx) => c.json(await publicKeysOf(ctx, c.req.valid('param').name), 200));
  r(rotateKeyRoute, async (c, ctx) => {
    const { name } = c.req.valid('param');
    assertActsFor(c.get('principal'), name);
    return c.json(await rotateKey(ctx, name, auditActor(c.get('principal'))), 200);
  });
  r(revokeKeyRoute, async (c, ctx) => {
    const { name, keyid } = c.req.valid('param');
    assertActsFor(c.get('principal'), name);
    return c.json(await revokeKey(ctx, name, keyid, auditActor(c.get('principal'))), 200);
  });
};
