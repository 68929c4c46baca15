// Deployments (operator work): update one device to one build now, and follow it.
import { createDeployment, deploymentView } from '../../deployments/deployments.ts';
import { createDeploymentSchema, createdDeploymentSchema, deploymentViewSchema } from '../../deployments/schemas.ts';
import { notifyDevice } from '../../devices/notify.ts';
import type { RouteModule } from '../router.ts';
import { answer, defineRoute, jsonBody, pathParams, refusal } from '../spec.ts';

export const createDeploymentRoute = defineRoute({
  method: 'post',
  path: '/api/v1/deployments',
  roles: ['operator'],
  summary: 'Update one device to a build: picks the delta for its version, else the full package',
  request: { body: jsonBody(createDeploymentSchema) },
  responses: {
    201: answer('scheduled; the device gets it at its next DM session (a Package 0 is sent)', createdDeploymentSchema),
    409: refusal('already current, another deployment under way, build not ready or for another model'),
  },
});

export const getDeploymentRoute = defineRoute({
  method: 'get',
  path: '/api/v1/deployments/{id}',
  roles: ['operator'],
  summary: 'A deployment: state, FUMO result code, bytes served, history',
  request: { params: pathParams('id') },
  responses: { 200: answer('the deployment', deploymentViewSchema), 404: refusal('no such deployment') },
});

export const deploymentRoutes: RouteModule = (r) => {
  r(createDeploymentRoute, async (c, ctx) => {
    const request = c.req.valid('json');
    const created = await createDeployment(ctx, c.get('principal'), request);
    // Ask the device to call in now; one that is not reached gets it when it next polls.
    notifyDevice(ctx, 'system', request.deviceId).catch((err: unknown) => ctx.log.warn({ err, deviceId: request.deviceId }, 'Package 0 not sent'));
    return c.json(created, 201);
  });
  r(getDeploymentRoute, async (c, ctx) => c.json(await deploymentView(ctx, c.req.valid('param').id), 200));
};
