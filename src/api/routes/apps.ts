// Application software (SCOMO): manufacturers upload application versions (signed packages,
// deltas between versions); operators set each model's baseline, read a device's
// applications and ask for one-off SCOMO operations.
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { deviceAppsView, setBaseline, showBaseline } from '../../scomo/baseline.ts';
import { requestScomo, scomoDeploymentView } from '../../scomo/deployments.ts';
import { appListQuerySchema, appUploadQuerySchema, appViewSchema, baselineSchema, baselineViewSchema, deviceAppsViewSchema, scomoDeploymentViewSchema, scomoRequestSchema } from '../../scomo/schemas.ts';
import { MAX_APP_BYTES, uploadApp } from '../../scomo/upload.ts';
import { appView, listApps } from '../../scomo/view.ts';
import type { RouteModule } from '../router.ts';
import { answer, defineRoute, jsonBody, pathParams, refusal } from '../spec.ts';

export const uploadAppRoute = defineRoute({
  method: 'post',
  path: '/api/v1/apps',
  roles: ['manufacturer'],
  summary: 'Upload an application version (raw body): its signed packages (full, and deltas from recent versions) are made at once',
  request: {
    query: appUploadQuerySchema,
    body: { required: true, content: { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } } },
  },
  responses: {
    201: answer('the application version and its packages', appViewSchema),
    403: refusal('the model belongs to another manufacturer'),
    409: refusal('this component already has that version'),
    413: refusal('empty body or over the size limit'),
  },
});

export const listAppsRoute = defineRoute({
  method: 'get',
  path: '/api/v1/apps',
  roles: ['manufacturer', 'operator'],
  summary: 'Application versions, newest first (a manufacturer sees its own)',
  request: { query: appListQuerySchema },
  responses: { 200: answer('application versions', z.object({ items: z.array(appViewSchema) })) },
});

export const getAppRoute = defineRoute({
  method: 'get',
  path: '/api/v1/apps/{id}',
  roles: ['manufacturer', 'operator'],
  summary: 'One application version and its packages',
  request: { params: pathParams('id') },
  responses: { 200: answer('the application version', appViewSchema), 404: refusal('no such application') },
});

export const setBaselineRoute = defineRoute({
  method: 'put',
  path: '/api/v1/baselines/{model}',
  roles: ['operator'],
  summary: "Set a model's baseline: the default application set (component and version) and forbidden components; devices are reconciled in their sessions",
  request: { params: pathParams('model'), body: jsonBody(baselineSchema) },
  responses: { 200: answer('the baseline', baselineViewSchema), 404: refusal('no such model'), 400: refusal('an application version the model does not have') },
});

export const getBaselineRoute = defineRoute({
  method: 'get',
  path: '/api/v1/baselines/{model}',
  roles: ['operator', 'manufacturer'],
  summary: "A model's baseline (a manufacturer sees its own models')",
  request: { params: pathParams('model') },
  responses: { 200: answer('the baseline', baselineViewSchema), 404: refusal('no such model, or no baseline') },
});

export const deviceAppsRoute = defineRoute({
  method: 'get',
  path: '/api/v1/devices/{id}/apps',
  roles: ['operator'],
  summary: "A device's applications as last read over SCOMO, what its baseline still asks of it, and its SCOMO deployments",
  request: { params: pathParams('id') },
  responses: { 200: answer("the device's applications", deviceAppsViewSchema), 404: refusal('no such device') },
});

export const requestScomoRoute = defineRoute({
  method: 'post',
  path: '/api/v1/devices/{id}/apps',
  roles: ['operator'],
  summary: 'Install, remove, activate or deactivate one component on one device at its next DM session',
  request: { params: pathParams('id'), body: jsonBody(scomoRequestSchema) },
  responses: { 201: answer('the SCOMO deployment', z.object({ id: z.string() })), 404: refusal('no such device or application'), 409: refusal('an operation on that component is under way, or it is not deployed') },
});

export const getScomoDeploymentRoute = defineRoute({
  method: 'get',
  path: '/api/v1/scomo-deployments/{id}',
  roles: ['operator'],
  summary: 'One SCOMO deployment: its state, result code and history',
  request: { params: pathParams('id') },
  responses: { 200: answer('the SCOMO deployment', scomoDeploymentViewSchema), 404: refusal('no such SCOMO deployment') },
});

export const appRoutes: RouteModule = (r) => {
  r(uploadAppRoute, async (c, ctx) => {
    const declared = Number(c.req.header('content-length') ?? Number.NaN);
    if (declared > MAX_APP_BYTES) throw new AppError('TOO_LARGE', `the application is ${declared} bytes; the limit is ${MAX_APP_BYTES}`);
    const raw = c.req.raw.body;
    if (!raw || declared === 0) throw new AppError('TOO_LARGE', 'the upload is empty; send the application as the request body');
    const body = Readable.fromWeb(raw as unknown as WebReadableStream<Uint8Array>);
    return c.json(await uploadApp(ctx, c.get('principal'), c.req.valid('query'), body), 201);
  });
  r(listAppsRoute, async (c, ctx) => c.json({ items: await listApps(ctx, c.get('principal'), c.req.valid('query')) }, 200));
  r(getAppRoute, async (c, ctx) => c.json(await appView(ctx, c.req.valid('param').id, c.get('principal')), 200));
  r(setBaselineRoute, async (c, ctx) => c.json(await setBaseline(ctx, c.get('principal'), c.req.valid('param').model, c.req.valid('json')), 200));
  r(getBaselineRoute, async (c, ctx) => c.json(await showBaseline(ctx, c.get('principal'), c.req.valid('param').model), 200));
  r(deviceAppsRoute, async (c, ctx) => c.json(await deviceAppsView(ctx, c.req.valid('param').id), 200));
  r(requestScomoRoute, async (c, ctx) => c.json(await requestScomo(ctx, c.get('principal'), c.req.valid('param').id, c.req.valid('json')), 201));
  r(getScomoDeploymentRoute, async (c, ctx) => c.json(await scomoDeploymentView(ctx, c.req.valid('param').id), 200));
};
