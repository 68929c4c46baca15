// Every route module of the management API, in one list the server mounts and the
// OpenAPI document and the role tests read.
import { declaredRoutes, type RouteModule } from '../router.ts';
import type { ApiRoute } from '../spec.ts';
import { appRoutes } from './apps.ts';
import { buildRoutes } from './builds.ts';
import { campaignRoutes } from './campaigns.ts';
import { releaseRoutes } from './releases.ts';
import { deploymentRoutes } from './deployments.ts';
import { deviceTagRoutes } from './device-tags.ts';
import { deviceRoutes } from './devices.ts';
import { deviceQueryRoutes } from './device-queries.ts';
import { enrollmentRoutes } from './enrollments.ts';
import { listRoutes } from './lists.ts';
import { manufacturerRoutes } from './manufacturers.ts';
import { offlineSigningRoutes } from './offline-signing.ts';
import { profileRoutes } from './profiles.ts';
import { tokenRoutes } from './tokens.ts';
import { webhookRoutes } from './webhooks.ts';

export const routeModules: RouteModule[] = [tokenRoutes, manufacturerRoutes, buildRoutes, deviceRoutes, deploymentRoutes, campaignRoutes, releaseRoutes, listRoutes, deviceTagRoutes, webhookRoutes, offlineSigningRoutes, deviceQueryRoutes, appRoutes, profileRoutes, enrollmentRoutes];

/** The declarations alone, without mounting anything. */
export function apiRoutes(): ApiRoute[] {
  return declaredRoutes(routeModules);
}
