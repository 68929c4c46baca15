// Tokens and the people who hold them. An admin creates people and tokens for anyone and
// lists them; any other token may only create more tokens for its own person, role and
// manufacturer (a second laptop), never for someone else.
import { z } from 'zod';
import { createPerson, peopleWithTokens } from '../../tokens/people.ts';
import { createPersonSchema, createTokenSchema, createdTokenSchema, personSchema } from '../../tokens/schemas.ts';
import { createToken } from '../../tokens/tokens.ts';
import type { RouteModule } from '../router.ts';
import { ANY_ROLE, answer, defineRoute, jsonBody, refusal } from '../spec.ts';

export const createTokenRoute = defineRoute({
  method: 'post',
  path: '/api/v1/tokens',
  roles: ANY_ROLE,
  summary: 'Create an API token (shown once); only an admin creates tokens for someone else or with another role',
  request: { body: jsonBody(createTokenSchema) },
  responses: { 201: answer('the new token and its person', createdTokenSchema), 403: refusal('a token that is not an admin asked for a token not its own kind') },
});

export const listPeopleRoute = defineRoute({
  method: 'get',
  path: '/api/v1/people',
  roles: ['admin'],
  summary: 'People and their tokens (never the tokens themselves)',
  responses: { 200: answer('every person, by login', z.array(personSchema)) },
});

export const createPersonRoute = defineRoute({
  method: 'post',
  path: '/api/v1/people',
  roles: ['admin'],
  summary: 'Name a person who will hold tokens',
  request: { body: jsonBody(createPersonSchema) },
  responses: { 201: answer('the new person', personSchema), 409: refusal('the login is taken') },
});

export const tokenRoutes: RouteModule = (r) => {
  r(createTokenRoute, async (c, ctx) => c.json(await createToken(ctx, c.get('principal'), c.req.valid('json')), 201));
  r(listPeopleRoute, async (c, ctx) => c.json(await peopleWithTokens(ctx), 200));
  r(createPersonRoute, async (c, ctx) => c.json(await createPerson(ctx, c.get('principal'), c.req.valid('json')), 201));
};
