// Releases (operator work only): offer a ready build to a cohort for updates devices ask
// for, list the releases, withdraw one.
import { createRelease, listReleases, withdraw } from '../../releases/releases.ts';
import { createReleaseSchema, releasePageSchema, releaseViewSchema } from '../../releases/schemas.ts';
import { pageQuerySchema } from '../../store/page.ts';
import type { RouteModule } from '../router.ts';
import { answer, defineRoute, jsonBody, pathParams, refusal } from '../spec.ts';

export const createReleaseRoute = defineRoute({
  method: 'post',
  path: '/api/v1/releases',
  roles: ['operator'],
  summary: 'Offer a ready build to a cohort (optionally in a maintenance window) for updates devices or their users ask for',
  request: { body: jsonBody(createReleaseSchema) },
  responses: { 201: answer('the release', releaseViewSchema), 404: refusal('no such build'), 409: refusal('build not ready, no full package, or a security downgrade for the cohort') },
});

export const listReleasesRoute = defineRoute({
  method: 'get',
  path: '/api/v1/releases',
  roles: ['operator'],
  summary: 'Releases, newest first, withdrawn ones included; a page at a time (limit, cursor)',
  request: { query: pageQuerySchema },
  responses: { 200: answer('a page of releases, newest first', releasePageSchema) },
});

export const withdrawReleaseRoute = defineRoute({
  method: 'delete',
  path: '/api/v1/releases/{id}',
  roles: ['operator'],
  summary: 'Withdraw a release: devices that ask are no longer offered it (deployments under way finish)',
  request: { params: pathParams('id') },
  responses: { 200: answer('the withdrawn release', releaseViewSchema), 404: refusal('no such release'), 409: refusal('already withdrawn') },
});

export const releaseRoutes: RouteModule = (r) => {
  r(createReleaseRoute, async (c, ctx) => c.json(await createRelease(ctx, c.get('principal'), c.req.valid('json')), 201));
  r(listReleasesRoute, async (c, ctx) => c.json(await listReleases(ctx, c.req.valid('query')), 200));
  r(withdrawReleaseRoute, async (c, ctx) => c.json(await withdraw(ctx, c.get('principal'), c.req.valid('param').id), 200));
};
