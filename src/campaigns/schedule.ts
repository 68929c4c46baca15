// Scheduled starts, forcing, the install go-ahead of a download-only campaign, and the
// campaign's download budget. A draft given a start time stays a draft ("scheduled for
// ...") until the engine's timer, under the campaigns lease, starts it when due, as the
// operator who scheduled it; a start that is refused then (build not ready, devices in
// another campaign) clears the schedule and says why in the audit log and to operator
// webhooks, instead of trying again forever. Forcing a campaign lets its devices be
// commanded outside its maintenance window; it needs a reason, which is audited.
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { campaignsIn, type CampaignRow, findCampaign, updateCampaign } from '../store/queries/campaigns.ts';
import { auditActor, type Principal } from '../tokens/tokens.ts';
import { startCampaign } from './start.ts';

/** Starts now, or (startAt in the future) schedules the start. */
export async function startOrSchedule(ctx: Context, principal: Principal, id: string, request: { reason?: string | undefined; startAt?: number | undefined }): Promise<void> {
  if (request.startAt !== undefined && request.startAt > ctx.clock.now()) {
    await scheduleStart(ctx, principal, id, request.startAt, request.reason);
    return;
  }
  await startCampaign(ctx, principal, id, request.reason);
}

export async function scheduleStart(ctx: Context, principal: Principal, id: string, startAt: number, reason?: string): Promise<void> {
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    const campaign = await findCampaign(tx, id, { forUpdate: true });
    if (!campaign) throw new AppError('NOT_FOUND', `no campaign ${id}`);
    if (campaign.state !== 'draft') throw new AppError('CONFLICT', `campaign ${id} is ${campaign.state}; only a draft can be scheduled to start`);
    await updateCampaign(tx, id, { startAt, scheduledBy: principal.personId, scheduledByName: principal.name, updatedAt: now });
    await recordAudit(tx, { ...auditActor(principal), action: 'campaign.schedule', subject: id, details: { by: principal.name, startAt: new Date(startAt).toISOString(), reason: reason ?? null } }, now);
  });
}

/** The operator a scheduled start acts for: who scheduled it (else who created it). */
function schedulerOf(campaign: CampaignRow): Principal {
  const name = campaign.scheduledByName ?? campaign.createdByName;
  // No token acts: the audit log names the person and this marker instead of a token id.
  return { tokenId: 'scheduled-start', tokenName: 'scheduled start', personId: campaign.scheduledBy ?? campaign.createdBy, personLogin: name, name, role: 'operator', manufacturerId: null, manufacturer: null };
}

/** Starts every draft whose start time has come; returns how many started. */
export async function startDueCampaigns(ctx: Context): Promise<number> {
  const now = ctx.clock.now();
  let started = 0;
  for (const campaign of await campaignsIn(ctx.db, ['draft'])) {
    if (campaign.startAt === null || campaign.startAt > now) continue;
    const at = new Date(campaign.startAt).toISOString();
    try {
      await startCampaign(ctx, schedulerOf(campaign), campaign.id, `scheduled start (${at})`);
      started += 1;
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      const failedAt = ctx.clock.now();
      const actor = auditActor(schedulerOf(campaign));
      await ctx.db.transaction(async (tx) => {
        // Started or aborted by hand meanwhile: nothing failed.
        const current = await findCampaign(tx, campaign.id, { forUpdate: true });
        if (current?.state !== 'draft' || current.startAt === null) return;
        await updateCampaign(tx, campaign.id, { startAt: null, updatedAt: failedAt });
        await recordAudit(tx, { ...actor, action: 'campaign.start-failed', subject: campaign.id, details: { scheduledFor: at, reason: err.message } }, failedAt);
      });
      ctx.log.warn({ campaignId: campaign.id, reason: err.message }, 'scheduled campaign start refused; the campaign stays a draft');
    }
  }
  return started;
}

export async function forceCampaign(ctx: Context, principal: Principal, id: string, reason: string): Promise<void> {
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    const campaign = await findCampaign(tx, id, { forUpdate: true });
    if (!campaign) throw new AppError('NOT_FOUND', `no campaign ${id}`);
    if (campaign.state === 'completed' || campaign.state === 'aborted') throw new AppError('CONFLICT', `campaign ${id} is already ${campaign.state}`);
    await updateCampaign(tx, id, { forcedReason: reason, updatedAt: now });
    await recordAudit(tx, { ...auditActor(principal), action: 'campaign.force', subject: id, details: { by: principal.name, reason, window: campaign.window === null ? null : JSON.parse(campaign.window) } }, now);
  });
  ctx.signals.emit({ kind: 'campaign-moved', campaignId: id });
}

/**
 * A download-only campaign's go-ahead: it becomes two-step, so devices that downloaded get
 * the Update Exec when its window opens (and the rest download, then update).
 */
export async function installCampaign(ctx: Context, principal: Principal, id: string, reason?: string): Promise<void> {
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    const campaign = await findCampaign(tx, id, { forUpdate: true });
    if (!campaign) throw new AppError('NOT_FOUND', `no campaign ${id}`);
    if (campaign.mode !== 'downloadOnly') throw new AppError('CONFLICT', `campaign ${id} is ${campaign.mode === 'install' ? 'an install' : 'a two-step'} campaign; only a download-only campaign waits for install`);
    if (campaign.state === 'completed' || campaign.state === 'aborted') throw new AppError('CONFLICT', `campaign ${id} is already ${campaign.state}`);
    await updateCampaign(tx, id, { mode: 'twoStep', updatedAt: now });
    await recordAudit(tx, { ...auditActor(principal), action: 'campaign.install', subject: id, details: { by: principal.name, reason: reason ?? null } }, now);
  });
  ctx.signals.emit({ kind: 'campaign-moved', campaignId: id });
}

/** Sets or lifts a campaign's download budget; downloads pick it up at their next request. */
export async function setCampaignBandwidth(ctx: Context, principal: Principal, id: string, bytesPerSecond: number | null): Promise<void> {
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    const campaign = await findCampaign(tx, id, { forUpdate: true });
    if (!campaign) throw new AppError('NOT_FOUND', `no campaign ${id}`);
    if (campaign.state === 'completed' || campaign.state === 'aborted') throw new AppError('CONFLICT', `campaign ${id} is already ${campaign.state}`);
    await updateCampaign(tx, id, { bandwidthBytesPerSecond: bytesPerSecond, updatedAt: now });
    await recordAudit(tx, { ...auditActor(principal), action: 'campaign.bandwidth', subject: id, details: { by: principal.name, bytesPerSecond, before: campaign.bandwidthBytesPerSecond } }, now);
  });
}
