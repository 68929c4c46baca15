// The campaigns list: newest first, optionally in one state, a page at a time.
import { z } from 'zod';
import type { Context } from '../context.ts';
import { keysetPage, type Page, pageQuerySchema, pageSchema } from '../store/page.ts';
import { campaignsPage } from '../store/queries/lists.ts';
import { type CampaignSummary, campaignSummarySchema, campaignViewSchema } from './schemas.ts';
import { campaignSummary } from './view.ts';

export const campaignListQuerySchema = pageQuerySchema.extend({ state: campaignViewSchema.shape.state.optional() });
export type CampaignListQuery = z.infer<typeof campaignListQuerySchema>;
export const campaignPageSchema = pageSchema(campaignSummarySchema);

export function listCampaigns(ctx: Context, query: CampaignListQuery): Promise<Page<CampaignSummary>> {
  return keysetPage(
    'campaigns',
    query,
    (after, limit) => campaignsPage(ctx.db, { state: query.state }, after, limit),
    (row) => row.id,
    (row) => campaignSummary(ctx, row),
  );
}
