// Deployments (operator work): update one device to one build now, and follow it.
import { createDeployment, deploymentView } from '../../deployments/deployments.ts';
import { createDeploymentSchema, createdDeploymentSchema, deploymentViewSchema } from '../../deployments/schemas.ts';
import { notifyDevice } from '../../devices/notify.ts';
import { errorBodySchema, parseInput } from '../http-errors.ts';
import type { RouteModule } from '../router.ts';
import { defineRoute } from '../spec.ts';

export const createDeploymentSpec = defineRoute({
  method: 'post',
  path: '/api/v1/deployments',
  roles: ['operator'],
  summary: 'Update one device to a build: picks the delta for its version, else the full package',
  body: createDeploymentSchema,
  responses: {
    201: { description: 'scheduled; the device gets it at its next DM session (a Package 0 is sent)', schema: createdDeploymentSchema },
    409: { description: 'already current, another deployment under way, build not ready or for another model', schema: errorBodySchema },
  },
});

export const getDeploymentSpec = defineRoute({
  method: 'get',
  path: '/api/v1/deployments/:id',
  roles: ['operator'],
  summary: 'A deployment: state, FUMO result code, bytes served, history',
  responses: { 200: { description: 'the deployment', schema: deploymentViewSchema }, 404: { description: 'no such deployment', schema: errorBodySchema } },
});

export const deploymentRoutes: RouteModule = (r) => {
  r(createDeploymentSpec, async (c, ctx) => {
    const request = parseInput(createDeploymentSchema, await c.req.json().catch(() => undefined), 'body');
    const created = createDeployment(ctx, c.get('principal'), request);
    // Ask the device to call in now; one that is not reached gets it when it next polls.
    notifyDevice(ctx, 'system', request.deviceId).catch((err: unknown) => ctx.log.warn({ err, deviceId: request.deviceId }, 'Package 0 not sent'));
    return c.json(created, 201);
  });
  r(getDeploymentSpec, (c, ctx) => c.json(deploymentView(ctx, c.req.param('id') ?? '')));
};
