// Enrollment batches (operator work; admins may read them): create a batch of devices with
// generated DM accounts, list and read batches, and take the batch's one export (the
// bootstrap files, with the secrets, shown once); reset one device that lost its
// credentials (a fresh export for it alone).
import { batchView, createBatch, listBatches } from '../../enroll/batches.ts';
import { exportBatch } from '../../enroll/export.ts';
import { resetEnrolledDevice } from '../../enroll/reset.ts';
import { batchExportSchema, batchPageSchema, batchViewSchema, createBatchSchema, resetDeviceSchema } from '../../enroll/schemas.ts';
import { pageQuerySchema } from '../../store/page.ts';
import type { RouteModule } from '../router.ts';
import { answer, defineRoute, jsonBody, pathParams, refusal } from '../spec.ts';

export const createBatchRoute = defineRoute({
  method: 'post',
  path: '/api/v1/enrollments',
  roles: ['operator'],
  summary: 'Create an enrollment batch: devices of one model (listed ids or a count) registered with generated DM accounts, optionally sharing a claim credential',
  request: { body: jsonBody(createBatchSchema) },
  responses: { 201: answer('the batch (no secrets: take them with the export)', batchViewSchema), 409: refusal('a device is already registered, or the claim name is taken') },
});

export const listBatchesRoute = defineRoute({
  method: 'get',
  path: '/api/v1/enrollments',
  roles: ['operator', 'admin'],
  summary: 'Enrollment batches, newest first, with their devices by state; a page at a time (limit, cursor)',
  request: { query: pageQuerySchema },
  responses: { 200: answer('a page of batches', batchPageSchema) },
});

export const getBatchRoute = defineRoute({
  method: 'get',
  path: '/api/v1/enrollments/{id}',
  roles: ['operator', 'admin'],
  summary: 'One enrollment batch: settings, claim name, export time, devices issued, awaiting their claim and enrolled',
  request: { params: pathParams('id') },
  responses: { 200: answer('the batch', batchViewSchema), 404: refusal('no such batch') },
});

export const exportBatchRoute = defineRoute({
  method: 'post',
  path: '/api/v1/enrollments/{id}/export',
  roles: ['operator'],
  summary: "The batch's bootstrap files (CP XML and WBXML, DM bootstrap WBXML per device) and CSV manifest, with the secrets; once only",
  request: { params: pathParams('id') },
  responses: { 200: answer('manifest.csv and the bootstrap documents', batchExportSchema), 404: refusal('no such batch'), 409: refusal('already exported: the secrets are shown once') },
});

export const resetDeviceRoute = defineRoute({
  method: 'post',
  path: '/api/v1/enrollments/devices/{deviceId}/reset',
  roles: ['operator'],
  summary: "Reset an enrolled device that lost its credentials: new credentials of its own at once (the old ones stop working), and a fresh export (bootstrap files and manifest) for that device alone, to flash it again",
  request: { params: pathParams('deviceId'), body: jsonBody(resetDeviceSchema) },
  responses: { 200: answer("manifest.csv and the device's bootstrap documents, with its new secrets (shown once)", batchExportSchema), 404: refusal('no such device, or it came through no enrollment batch') },
});

export const enrollmentRoutes: RouteModule = (r) => {
  r(createBatchRoute, async (c, ctx) => c.json(await createBatch(ctx, c.get('principal'), c.req.valid('json'), { origin: new URL(c.req.url).origin }), 201));
  r(listBatchesRoute, async (c, ctx) => c.json(await listBatches(ctx, c.req.valid('query')), 200));
  r(getBatchRoute, async (c, ctx) => c.json(await batchView(ctx, c.req.valid('param').id), 200));
  r(exportBatchRoute, async (c, ctx) => c.json(await exportBatch(ctx, c.get('principal'), c.req.valid('param').id), 200));
  r(resetDeviceRoute, async (c, ctx) => c.json(await resetEnrolledDevice(ctx, c.get('principal'), c.req.valid('param').deviceId, c.req.valid('json')), 200));
};
