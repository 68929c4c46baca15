// Campaigns and cohorts (operator work only): preview a cohort, create a campaign, start
// it, approve its gated stages, pause, resume, abort, and follow it stage by stage.
import { z } from 'zod';
import { previewCohort } from '../../campaigns/cohort.ts';
import { createCampaign } from '../../campaigns/create.ts';
import { campaignListQuerySchema, campaignPageSchema, listCampaigns } from '../../campaigns/list.ts';
import { abortCampaign, approveStage, pauseCampaign, resumeCampaign } from '../../campaigns/operator.ts';
import { campaignViewSchema, cohortPreviewBodySchema, cohortPreviewQuerySchema, cohortPreviewSchema, bandwidthActionSchema, createCampaignSchema, forceActionSchema, operatorActionSchema, startActionSchema } from '../../campaigns/schemas.ts';
import { rollbackCampaign } from '../../campaigns/rollback.ts';
import { forceCampaign, installCampaign, setCampaignBandwidth, startOrSchedule } from '../../campaigns/schedule.ts';
import { campaignView } from '../../campaigns/view.ts';
import type { Context } from '../../context.ts';
import type { Principal } from '../../tokens/tokens.ts';
import type { RouteModule } from '../router.ts';
import { answer, defineRoute, jsonBody, pathParams, refusal } from '../spec.ts';

const notFound = { 404: refusal('no such campaign') };

export const previewCohortRoute = defineRoute({
  method: 'get',
  path: '/api/v1/cohorts/preview',
  roles: ['operator'],
  summary: 'How many devices a cohort filter matches, by firmware version, and which are in other campaigns',
  request: { query: cohortPreviewQuerySchema },
  responses: { 200: answer('the preview', cohortPreviewSchema) },
});

export const previewCohortBodyRoute = defineRoute({
  method: 'post',
  path: '/api/v1/cohorts/preview',
  roles: ['operator'],
  summary: 'The cohort preview with the filter as a JSON body (for up to 10,000 device ids)',
  request: { body: jsonBody(cohortPreviewBodySchema) },
  responses: { 200: answer('the preview', cohortPreviewSchema) },
});

export const createCampaignRoute = defineRoute({
  method: 'post',
  path: '/api/v1/campaigns',
  roles: ['operator'],
  summary: 'Create a campaign (a draft): its payload (a build, a profile version or an application operation), cohort filter, cumulative stages, thresholds',
  request: { body: jsonBody(createCampaignSchema) },
  responses: { 201: answer('the draft', z.object({ id: z.string() })), 404: refusal('no such build, profile version, application or model') },
});

export const listCampaignsRoute = defineRoute({
  method: 'get',
  path: '/api/v1/campaigns',
  roles: ['operator'],
  summary: 'Campaigns with their totals, newest first, optionally in one state; a page at a time (limit, cursor)',
  request: { query: campaignListQuerySchema },
  responses: { 200: answer('a page of campaigns, newest first', campaignPageSchema) },
});

export const getCampaignRoute = defineRoute({
  method: 'get',
  path: '/api/v1/campaigns/{id}',
  roles: ['operator'],
  summary: 'A campaign: state, pause reason, and per stage the counts by state and failures by result code',
  request: { params: pathParams('id') },
  responses: { 200: answer('the campaign', campaignViewSchema), ...notFound },
});

/** An operator action on a campaign; its body, {reason}, may be left out. */
function actionRoute<const A extends string>(action: A, summary: string, conflict: string, forbidden = "the token's role may not do this") {
  return defineRoute({
    method: 'post',
    path: `/api/v1/campaigns/{id}/${action}`,
    roles: ['operator'],
    summary,
    request: { params: pathParams('id'), body: jsonBody(operatorActionSchema, { required: false }) },
    responses: { 200: answer('the campaign after the action', campaignViewSchema), 403: refusal(forbidden), ...notFound, 409: refusal(conflict) },
  });
}

export const startCampaignRoute = defineRoute({
  method: 'post',
  path: '/api/v1/campaigns/{id}/start',
  roles: ['operator'],
  summary: 'Snapshot the cohort, give each device its stage and package, start the first stage; with startAt in the future, schedule the start instead',
  request: { params: pathParams('id'), body: jsonBody(startActionSchema, { required: false }) },
  responses: {
    200: answer('the campaign after the action (a draft with scheduledFor when scheduled)', campaignViewSchema),
    403: refusal("the token's role may not do this"),
    ...notFound,
    409: refusal('not a draft, build not ready, or devices in another running campaign (the error names it)'),
  },
});

export const forceCampaignRoute = defineRoute({
  method: 'post',
  path: '/api/v1/campaigns/{id}/force',
  roles: ['operator'],
  summary: 'Force the campaign: its devices are commanded outside its maintenance window from now on (a reason is required and audited)',
  request: { params: pathParams('id'), body: jsonBody(forceActionSchema) },
  responses: { 200: answer('the campaign after the action', campaignViewSchema), ...notFound, 409: refusal('already completed or aborted') },
});

export const approveCampaignRoute = actionRoute('approve', 'Approve the stage that waits for approval; it starts now', 'no stage awaits approval', "the token's role may not do this, or four eyes: the creator may not approve");
export const pauseCampaignRoute = actionRoute('pause', 'Stop commanding devices; those already working finish and report', 'not running');
export const resumeCampaignRoute = actionRoute('resume', 'Carry on; after an automatic pause, only new results count toward the failure threshold', 'not paused');
export const rollbackCampaignRoute = defineRoute({
  method: 'post',
  path: '/api/v1/campaigns/{id}/rollback',
  roles: ['operator'],
  summary: "Create a draft campaign that brings the devices this campaign updated back to the model's previous build (refused when its securityVersion is lower: devices would refuse it)",
  request: { params: pathParams('id'), body: jsonBody(operatorActionSchema, { required: false }) },
  responses: {
    201: answer('the rollback campaign (a draft: start it as any campaign)', z.object({ id: z.string(), buildId: z.string(), version: z.string(), devices: z.number() })),
    ...notFound,
    409: refusal('still running or paused, updated no device, no earlier build, or the earlier build has a lower securityVersion (anti-rollback)'),
  },
});

export const campaignBandwidthRoute = defineRoute({
  method: 'post',
  path: '/api/v1/campaigns/{id}/bandwidth',
  roles: ['operator'],
  summary: "Set (or, with null, lift) the campaign's download budget in bytes per second, shared by all its downloads in each server process",
  request: { params: pathParams('id'), body: jsonBody(bandwidthActionSchema) },
  responses: { 200: answer('the campaign after the change', campaignViewSchema), ...notFound, 409: refusal('already completed or aborted') },
});

export const installCampaignRoute = actionRoute('install', 'Let a download-only campaign install: devices that downloaded get the Update Exec when the window opens (it becomes two-step)', 'not a download-only campaign, or already completed or aborted');
export const abortCampaignRoute = actionRoute('abort', 'Cancel every deployment not yet commanded; devices already working finish and report', 'already completed or aborted');

type Act = (ctx: Context, principal: Principal, id: string, reason: string | undefined) => Promise<unknown>;

export const campaignRoutes: RouteModule = (r) => {
  r(previewCohortRoute, async (c, ctx) => c.json(await previewCohort(ctx, c.req.valid('query')), 200));
  r(previewCohortBodyRoute, async (c, ctx) => c.json(await previewCohort(ctx, c.req.valid('json')), 200));
  r(createCampaignRoute, async (c, ctx) => c.json(await createCampaign(ctx, c.get('principal'), c.req.valid('json')), 201));
  r(listCampaignsRoute, async (c, ctx) => c.json(await listCampaigns(ctx, c.req.valid('query')), 200));
  r(getCampaignRoute, async (c, ctx) => c.json(await campaignView(ctx, c.req.valid('param').id), 200));
  const operatorAction = (route: ReturnType<typeof actionRoute<string>>, act: Act) =>
    r(route, async (c, ctx) => {
      const { id } = c.req.valid('param');
      await act(ctx, c.get('principal'), id, c.req.valid('json').reason);
      return c.json(await campaignView(ctx, id), 200);
    });
  r(startCampaignRoute, async (c, ctx) => {
    const { id } = c.req.valid('param');
    await startOrSchedule(ctx, c.get('principal'), id, c.req.valid('json'));
    return c.json(await campaignView(ctx, id), 200);
  });
  r(forceCampaignRoute, async (c, ctx) => {
    const { id } = c.req.valid('param');
    await forceCampaign(ctx, c.get('principal'), id, c.req.valid('json').reason);
    return c.json(await campaignView(ctx, id), 200);
  });
  operatorAction(approveCampaignRoute, approveStage);
  operatorAction(pauseCampaignRoute, pauseCampaign);
  operatorAction(resumeCampaignRoute, resumeCampaign);
  operatorAction(abortCampaignRoute, abortCampaign);
  operatorAction(installCampaignRoute, installCampaign);
  r(campaignBandwidthRoute, async (c, ctx) => {
    const { id } = c.req.valid('param');
    await setCampaignBandwidth(ctx, c.get('principal'), id, c.req.valid('json').bytesPerSecond);
    return c.json(await campaignView(ctx, id), 200);
  });
  r(rollbackCampaignRoute, async (c, ctx) => c.json(await rollbackCampaign(ctx, c.get('principal'), c.req.valid('param').id, c.req.valid('json').reason), 201));
};
