// Campaigns and cohorts (operator work only): preview a cohort, create a campaign, start
// it, approve its gated stages, pause, resume, abort, and follow it stage by stage.
import { z } from 'zod';
import { previewCohort } from '../../campaigns/cohort.ts';
import { createCampaign } from '../../campaigns/create.ts';
import { abortCampaign, approveStage, pauseCampaign, resumeCampaign } from '../../campaigns/operator.ts';
import { campaignSummarySchema, campaignViewSchema, cohortPreviewBodySchema, cohortPreviewQuerySchema, cohortPreviewSchema, createCampaignSchema, operatorActionSchema } from '../../campaigns/schemas.ts';
import { startCampaign } from '../../campaigns/start.ts';
import { campaignSummaries, campaignView } from '../../campaigns/view.ts';
import type { Context } from '../../context.ts';
import type { Principal } from '../../tokens/tokens.ts';
import { errorBodySchema, parseInput } from '../http-errors.ts';
import type { RouteModule } from '../router.ts';
import { defineRoute, type RouteSpec } from '../spec.ts';

const notFound = { 404: { description: 'no such campaign', schema: errorBodySchema } };
const conflict = (description: string) => ({ 409: { description, schema: errorBodySchema } });

export const previewCohortSpec = defineRoute({
  method: 'get',
  path: '/api/v1/cohorts/preview',
  roles: ['operator'],
  summary: 'How many devices a cohort filter matches, by firmware version, and which are in other campaigns',
  query: cohortPreviewQuerySchema,
  responses: { 200: { description: 'the preview', schema: cohortPreviewSchema } },
});

export const previewCohortBodySpec = defineRoute({
  method: 'post',
  path: '/api/v1/cohorts/preview',
  roles: ['operator'],
  summary: 'The cohort preview with the filter as a JSON body (for up to 10,000 device ids)',
  body: cohortPreviewBodySchema,
  responses: { 200: { description: 'the preview', schema: cohortPreviewSchema } },
});

export const createCampaignSpec = defineRoute({
  method: 'post',
  path: '/api/v1/campaigns',
  roles: ['operator'],
  summary: 'Create a campaign (a draft): build, cohort filter, cumulative stages, thresholds',
  body: createCampaignSchema,
  responses: { 201: { description: 'the draft', schema: z.object({ id: z.string() }) }, 404: { description: 'no such build', schema: errorBodySchema } },
});

export const listCampaignsSpec = defineRoute({
  method: 'get',
  path: '/api/v1/campaigns',
  roles: ['operator'],
  summary: 'The most recent campaigns with their totals',
  responses: { 200: { description: 'campaigns, newest first', schema: z.array(campaignSummarySchema) } },
});

export const getCampaignSpec = defineRoute({
  method: 'get',
  path: '/api/v1/campaigns/:id',
  roles: ['operator'],
  summary: 'A campaign: state, pause reason, and per stage the counts by state and failures by result code',
  responses: { 200: { description: 'the campaign', schema: campaignViewSchema }, ...notFound },
});

const actionSpec = (action: string, summary: string, conflictText: string) =>
  defineRoute({
    method: 'post',
    path: `/api/v1/campaigns/:id/${action}`,
    roles: ['operator'],
    summary,
    body: operatorActionSchema,
    responses: { 200: { description: 'the campaign after the action', schema: campaignViewSchema }, ...notFound, ...conflict(conflictText) },
  });

export const startCampaignSpec = actionSpec('start', 'Snapshot the cohort, give each device its stage and package, start the first stage', 'not a draft, build not ready, or devices in another running campaign (the error names it)');
const approveBase = actionSpec('approve', 'Approve the stage that waits for approval; it starts now', 'no stage awaits approval');
export const approveCampaignSpec = defineRoute({ ...approveBase, responses: { ...approveBase.responses, 403: { description: 'four eyes: the creator may not approve', schema: errorBodySchema } } });
export const pauseCampaignSpec = actionSpec('pause', 'Stop commanding devices; those already working finish and report', 'not running');
export const resumeCampaignSpec = actionSpec('resume', 'Carry on; after an automatic pause, only new results count toward the failure threshold', 'not paused');
export const abortCampaignSpec = actionSpec('abort', 'Cancel every deployment not yet commanded; devices already working finish and report', 'already completed or aborted');

export const campaignRoutes: RouteModule = (r) => {
  r(previewCohortSpec, (c, ctx) => {
    const query = parseInput(cohortPreviewQuerySchema, c.req.query(), 'query');
    return c.json(previewCohort(ctx, query));
  });
  r(previewCohortBodySpec, async (c, ctx) => {
    const query = parseInput(cohortPreviewBodySchema, await c.req.json().catch(() => undefined), 'body');
    return c.json(previewCohort(ctx, query));
  });
  r(createCampaignSpec, async (c, ctx) => {
    const request = parseInput(createCampaignSchema, await c.req.json().catch(() => undefined), 'body');
    return c.json(createCampaign(ctx, c.get('principal'), request), 201);
  });
  r(listCampaignsSpec, (c, ctx) => c.json(campaignSummaries(ctx)));
  r(getCampaignSpec, (c, ctx) => c.json(campaignView(ctx, c.req.param('id') ?? '')));
  // The action's optional body is {reason}; an empty body is fine.
  const operatorAction = (spec: RouteSpec, act: (ctx: Context, principal: Principal, id: string, reason: string | undefined) => unknown) =>
    r(spec, async (c, ctx) => {
      const text = await c.req.text();
      const { reason } = parseInput(operatorActionSchema, text.trim() === '' ? {} : safeJson(text), 'body');
      const id = c.req.param('id') ?? '';
      act(ctx, c.get('principal'), id, reason);
      return c.json(campaignView(ctx, id));
    });
  operatorAction(startCampaignSpec, startCampaign);
  operatorAction(approveCampaignSpec, approveStage);
  operatorAction(pauseCampaignSpec, pauseCampaign);
  operatorAction(resumeCampaignSpec, resumeCampaign);
  operatorAction(abortCampaignSpec, abortCampaign);
};

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
