// POST /api/v1/tokens: an admin creates tokens for people and machines.
import { z } from 'zod';
import { createToken } from '../../tokens/tokens.ts';
import { createTokenSchema } from '../../tokens/schemas.ts';
import { errorBodySchema, parseInput } from '../http-errors.ts';
import { defineRoute } from '../spec.ts';
import type { RouteModule } from '../router.ts';

export const createTokenSpec = defineRoute({
  method: 'post',
  path: '/api/v1/tokens',
  roles: ['admin'],
  summary: 'Create an API token (shown once)',
  body: createTokenSchema,
  responses: {
    201: { description: 'the new token', schema: z.object({ id: z.string(), token: z.string() }) },
    400: { description: 'invalid request', schema: errorBodySchema },
  },
});

export const tokenRoutes: RouteModule = (r) => {
  r(createTokenSpec, async (c, ctx) => {
    const body = parseInput(createTokenSchema, await c.req.json().catch(() => undefined), 'body');
    const created = createToken(ctx, c.get('principal').tokenId, body);
    return c.json(created, 201);
  });
};
