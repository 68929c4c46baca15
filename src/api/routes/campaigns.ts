// Campaigns and cohorts (operator work only): preview a cohort, create a campaign, start
// it, approve its gated stages, pause, resume, abort, and follow it stage by stage.
import { z } from 'zod';
import { previewCohort } from '../../campaigns/cohort.ts';
import { createCampaign } from '../../campaigns/create.ts';
import { campaignListQuerySchema, campaignPageSchema, listCampaigns } from '../../campaigns/list.ts';
import { abortCampaign, approveStage, pauseCampaign, resumeCampaign } from '../../campaigns/operator.ts';
import { campaignViewSchema, cohortPreviewBodySchema, cohortPreviewQuerySchema, cohortPreviewSchema, createCampaignSchema, operatorActionSchema } from '../../campaigns/schemas.ts';
import { startCampaign } from '../../campaigns/start.ts';
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
  summary: 'Create a campaign (a draft): build, cohort filter, cumulative stages, thresholds',
  request: { body: jsonBody(createCampaignSchema) },
  responses: { 201: answer('the draft', z.object({ id: z.string() })), 404: refusal('no such build') },
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

export const startCampaignRoute = actionRoute('start', 'Snapshot the cohort, give each device its stage and package, start the first stage', 'not a draft, build not ready, or devices in another running campaign (the error names it)');
export const approveCampaignRoute = actionRoute('approve', 'Approve the stage that waits for approval; it starts now', 'no stage awaits approval', "the token's role may not do this, or four eyes: the creator may not approve");
export const pauseCampaignRoute = actionRoute('pause', 'Stop commanding devices; those already working finish and report', 'not running');
export const resumeCampaignRoute = actionRoute('resume', 'Carry on; after an automatic pause, only new results count toward the failure threshold', 'not paused');
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
  operatorAction(startCampaignRoute, startCampaign);
  operatorAction(approveCampaignRoute, approveStage);
  operatorAction(pauseCampaignRoute, pauseCampaign);
  operatorAction(resumeCampaignRoute, resumeCampaign);
  operatorAction(abortCampaignRoute, abortCampaign);
};
