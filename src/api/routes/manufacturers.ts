// Manufacturer signing keys: public halves for devices to pin, rotation and revocation.
import { AppError } from '../../errors.ts';
import { signingKeysSchema } from '../../manufacturers/schemas.ts';
import { publicKeysOf, revokeKey, rotateKey } from '../../manufacturers/signing-keys.ts';
import type { Principal } from '../../tokens/tokens.ts';
import { errorBodySchema } from '../http-errors.ts';
import type { RouteModule } from '../router.ts';
import { ANY_ROLE, defineRoute } from '../spec.ts';

const responses = { 200: { description: 'the keys, newest first', schema: signingKeysSchema }, 404: { description: 'no such manufacturer', schema: errorBodySchema } };

export const listKeysSpec = defineRoute({ method: 'get', path: '/api/v1/manufacturers/:name/keys', roles: ANY_ROLE, summary: 'Public signing keys of a manufacturer', responses });
export const rotateKeySpec = defineRoute({ method: 'post', path: '/api/v1/manufacturers/:name/keys/rotate', roles: ['admin', 'manufacturer'], summary: 'New signing key; the old one stays valid for verification until revoked', responses });
export const revokeKeySpec = defineRoute({ method: 'post', path: '/api/v1/manufacturers/:name/keys/:keyid/revoke', roles: ['admin', 'manufacturer'], summary: 'Stop trusting a signing key', responses });

function assertActsFor(principal: Principal, name: string): void {
  if (principal.role === 'manufacturer' && principal.manufacturer !== name) throw new AppError('FORBIDDEN', `this token acts for ${principal.manufacturer}, not ${name}`);
}

export const manufacturerRoutes: RouteModule = (r) => {
  r(listKeysSpec, (c, ctx) => c.json(publicKeysOf(ctx, c.req.param('name') ?? '')));
  r(rotateKeySpec, (c, ctx) => {
    const name = c.req.param('name') ?? '';
    assertActsFor(c.get('principal'), name);
    return c.json(rotateKey(ctx, name, c.get('principal').tokenId));
  });
  r(revokeKeySpec, (c, ctx) => {
    const name = c.req.param('name') ?? '';
    assertActsFor(c.get('principal'), name);
    return c.json(revokeKey(ctx, name, c.req.param('keyid') ?? '', c.get('principal').tokenId));
  });
};
