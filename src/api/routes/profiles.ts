// Configuration profiles (operators and admins): create a version, list, show; apply one to
// a device (at its next session, woken with a Package 0); the device's current
// configuration and applications; a drift check for a cohort. Configuration campaigns go
// through /api/v1/campaigns with `profile` instead of `buildId`.
import { z } from 'zod';
import { applicationOf, applyToDevice, deviceConfiguration, requestDriftCheck } from '../../profiles/apply.ts';
import { driftQueuedSchema, driftRequestSchema } from '../../profiles/drift-schemas.ts';
import { createProfileVersion, listProfileSummaries, profileVersionView, profileView } from '../../profiles/profiles.ts';
import { applicationViewSchema, appliedSchema, applyProfileSchema, createdProfileVersionSchema, createProfileSchema, deviceConfigurationSchema, profileSummarySchema, profileVersionViewSchema, profileViewSchema } from '../../profiles/schemas.ts';
import type { RouteModule } from '../router.ts';
import { answer, defineRoute, jsonBody, pathParams, refusal } from '../spec.ts';

const ROLES = ['operator', 'admin'] as const;

export const createProfileRoute = defineRoute({
  method: 'post',
  path: '/api/v1/profiles',
  roles: ROLES,
  summary: 'Create a configuration profile version (the profile itself with its first version); versions are immutable',
  request: { body: jsonBody(createProfileSchema) },
  responses: { 201: answer('the new version', createdProfileVersionSchema), 400: refusal('the profile exists for another model') },
});

export const listProfilesRoute = defineRoute({
  method: 'get',
  path: '/api/v1/profiles',
  roles: ROLES,
  summary: 'Configuration profiles by name, with their newest version',
  responses: { 200: answer('the profiles', z.object({ items: z.array(profileSummarySchema), nextCursor: z.null() })) },
});

export const showProfileRoute = defineRoute({
  method: 'get',
  path: '/api/v1/profiles/{name}',
  roles: ROLES,
  summary: 'A configuration profile with every version and its operations',
  request: { params: pathParams('name') },
  responses: { 200: answer('the profile', profileViewSchema), 404: refusal('no such profile') },
});

export const showProfileVersionRoute = defineRoute({
  method: 'get',
  path: '/api/v1/profiles/{name}/versions/{version}',
  roles: ROLES,
  summary: 'One version of a configuration profile',
  request: { params: pathParams('name', 'version') },
  responses: { 200: answer('the version', profileVersionViewSchema), 404: refusal('no such profile or version') },
});

export const driftCheckRoute = defineRoute({
  method: 'post',
  path: '/api/v1/profiles/{name}/drift-check',
  roles: ROLES,
  summary: "Read back the profile's nodes on a cohort's devices at their next session and compare with the profile",
  request: { params: pathParams('name'), body: jsonBody(driftRequestSchema, { required: false }) },
  responses: { 202: answer('the reads queued', driftQueuedSchema), 404: refusal('no such profile or version'), 400: refusal('cohort of another model, empty or too large') },
});

export const applyProfileRoute = defineRoute({
  method: 'post',
  path: '/api/v1/devices/{id}/profile',
  roles: ROLES,
  summary: "Apply a profile version to one device at its next DM session (woken with a Package 0 unless notify is false)",
  request: { params: pathParams('id'), body: jsonBody(applyProfileSchema) },
  responses: { 202: answer('the application queued', appliedSchema), 404: refusal('no such device or profile'), 400: refusal('the profile is for another model') },
});

export const deviceConfigurationRoute = defineRoute({
  method: 'get',
  path: '/api/v1/devices/{id}/configuration',
  roles: ROLES,
  summary: "The device's configuration as read back after profiles were applied, and its recent profile applications",
  request: { params: pathParams('id') },
  responses: { 200: answer('the configuration', deviceConfigurationSchema), 404: refusal('no such device') },
});

export const applicationRoute = defineRoute({
  method: 'get',
  path: '/api/v1/devices/{id}/profile-applications/{applicationId}',
  roles: ROLES,
  summary: 'One profile application: its state, every Status, the first failing one, drift found',
  request: { params: pathParams('id', 'applicationId') },
  responses: { 200: answer('the application', applicationViewSchema), 404: refusal('no such device or application') },
});

const versionNumber = (text: string) => (/^[1-9]\d{0,5}$/.test(text) ? Number(text) : 0);

export const profileRoutes: RouteModule = (r) => {
  r(createProfileRoute, async (c, ctx) => c.json(await createProfileVersion(ctx, c.get('principal'), c.req.valid('json')), 201));
  r(listProfilesRoute, async (c, ctx) => c.json({ items: await listProfileSummaries(ctx), nextCursor: null }, 200));
  r(showProfileRoute, async (c, ctx) => c.json(await profileView(ctx, c.req.valid('param').name), 200));
  r(showProfileVersionRoute, async (c, ctx) => c.json(await profileVersionView(ctx, c.req.valid('param').name, versionNumber(c.req.valid('param').version)), 200));
  r(driftCheckRoute, async (c, ctx) => c.json(await requestDriftCheck(ctx, c.get('principal'), c.req.valid('param').name, c.req.valid('json')), 202));
  r(applyProfileRoute, async (c, ctx) => c.json(await applyToDevice(ctx, c.get('principal'), c.req.valid('param').id, c.req.valid('json')), 202));
  r(deviceConfigurationRoute, async (c, ctx) => c.json(await deviceConfiguration(ctx, c.req.valid('param').id), 200));
  r(applicationRoute, async (c, ctx) => c.json(await applicationOf(ctx, c.req.valid('param').id, c.req.valid('param').applicationId), 200));
};
