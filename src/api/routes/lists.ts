// The lists of the management API: builds, packages, devices, deployments and the audit
// log, each filtered by its query and served a page at a time (`limit`, `cursor`; the
// answer is {items, nextCursor}, store/page.ts). Roles as for reading one of the things
// listed: builds and packages for anyone (a manufacturer sees its own), devices and
// deployments for operators, the audit log for operators and admins. (The campaigns list
// is with the other campaign routes.)
import { auditListQuerySchema, auditPageSchema, listAudit } from '../../audit/list.ts';
import { buildListQuerySchema, buildPageSchema, listBuilds, listPackages, packageListQuerySchema, packagePageSchema } from '../../builds/list.ts';
import { deploymentListQuerySchema, deploymentPageSchema, listDeployments } from '../../deployments/list.ts';
import { deviceListQuerySchema, devicePageSchema, listDevices } from '../../devices/list.ts';
import type { RouteModule } from '../router.ts';
import { ANY_ROLE, answer, defineRoute } from '../spec.ts';

export const listBuildsRoute = defineRoute({
  method: 'get',
  path: '/api/v1/builds',
  roles: ANY_ROLE,
  summary: 'Builds, newest first, by model and version (a manufacturer token lists its own); a page at a time',
  request: { query: buildListQuerySchema },
  responses: { 200: answer('a page of builds', buildPageSchema) },
});

export const listPackagesRoute = defineRoute({
  method: 'get',
  path: '/api/v1/packages',
  roles: ANY_ROLE,
  summary: 'Packages, newest first, by build, model and kind (a manufacturer token lists its own); a page at a time',
  request: { query: packageListQuerySchema },
  responses: { 200: answer('a page of packages', packagePageSchema) },
});

export const listDevicesRoute = defineRoute({
  method: 'get',
  path: '/api/v1/devices',
  roles: ['operator'],
  summary: 'Devices in id order, by model, firmware version, tag, last contact and campaign; a page at a time',
  request: { query: deviceListQuerySchema },
  responses: { 200: answer('a page of devices', devicePageSchema) },
});

export const listDeploymentsRoute = defineRoute({
  method: 'get',
  path: '/api/v1/deployments',
  roles: ['operator'],
  summary: 'Deployments in id order, by campaign, stage, state, FUMO result code and device; a page at a time',
  request: { query: deploymentListQuerySchema },
  responses: { 200: answer('a page of deployments', deploymentPageSchema) },
});

export const listAuditRoute = defineRoute({
  method: 'get',
  path: '/api/v1/audit',
  roles: ['admin', 'operator'],
  summary: 'The audit log, newest first, by subject, actor and action; a page at a time',
  request: { query: auditListQuerySchema },
  responses: { 200: answer('a page of audit events', auditPageSchema) },
});

export const listRoutes: RouteModule = (r) => {
  r(listBuildsRoute, async (c, ctx) => c.json(await listBuilds(ctx, c.get('principal'), c.req.valid('query')), 200));
  r(listPackagesRoute, async (c, ctx) => c.json(await listPackages(ctx, c.get('principal'), c.req.valid('query')), 200));
  r(listDevicesRoute, async (c, ctx) => c.json(await listDevices(ctx, c.req.valid('query')), 200));
  r(listDeploymentsRoute, async (c, ctx) => c.json(await listDeployments(ctx, c.req.valid('query')), 200));
  r(listAuditRoute, async (c, ctx) => c.json(await listAudit(ctx, c.req.valid('query')), 200));
};
