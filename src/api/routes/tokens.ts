// POST /api/v1/tokens: an admin creates tokens for people and machines.
import { z } from 'zod';
import { createToken } from '../../tokens/tokens.ts';
import { createTokenSchema } from '../../tokens/schemas.ts';
import type { RouteModule } from '../router.ts';
import { answer, defineRoute, jsonBody } from '../spec.ts';

export const createTokenRoute = defineRoute({
  method: 'post',
  path: '/api/v1/tokens',
  roles: ['admin'],
  summary: 'Create an API token (shown once)',
  request: { body: jsonBody(createTokenSchema) },
  responses: { 201: answer('the new token', z.object({ id: z.string(), token: z.string() })) },
});

export const tokenRoutes: RouteModule = (r) => {
  r(createTokenRoute, async (c, ctx) => c.json(await createToken(ctx, c.get('principal').tokenId, c.req.valid('json')), 201));
};
