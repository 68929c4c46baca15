// The draft every campaign starts as, whatever it delivers: cohort, stages, thresholds,
// soak, timeout, four eyes, window, forcing and schedule come from the request the same
// way for a firmware build (create.ts) and a configuration profile (create-configuration.ts);
// the payload says what is delivered and the settings only a payload can have.
import type { Config } from '../config.ts';
import type { campaigns } from '../store/schema/index.ts';
import { insertCampaign } from '../store/queries/campaigns.ts';
import type { Tx } from '../store/store.ts';
import type { Principal } from '../tokens/tokens.ts';
import type { CreateCampaign } from './schemas.ts';

type CampaignRow = typeof campaigns.$inferInsert;
export type CampaignPayload = Pick<CampaignRow, 'buildId' | 'kind' | 'profileVersionId' | 'dynamic' | 'mode' | 'bandwidthBytesPerSecond' | 'appOperation' | 'appComponent' | 'appVersionId'>;

export async function insertDraft(tx: Tx, principal: Principal, id: string, request: CreateCampaign, model: string, payload: CampaignPayload, settings: Config['campaigns'], now: number): Promise<void> {
  await insertCampaign(
    tx,
    {
      id,
      name: request.name,
      ...payload,
      model,
      cohort: JSON.stringify({ ...request.cohort, model }),
      state: 'draft',
      successThreshold: request.successThreshold,
      failureThreshold: request.failureThreshold,
      minSample: request.minSample,
      soakMs: request.soakSeconds * 1000,
      timeoutMs: request.timeoutMinutes === undefined ? settings.defaultTimeoutMs : Math.round(request.timeoutMinutes * 60_000),
      fourEyes: request.fourEyes ?? settings.fourEyes,
      window: request.maintenanceWindow ? JSON.stringify(request.maintenanceWindow) : null,
      forcedReason: request.forced?.reason ?? null,
      ...(request.startAt === undefined ? {} : { startAt: request.startAt, scheduledBy: principal.personId, scheduledByName: principal.name }),
      createdBy: principal.personId,
      createdByName: principal.name,
      createdAt: now,
      updatedAt: now,
    },
    request.stages.map((s, index) => ({ campaignId: id, index, percent: s.percent, requiresApproval: s.requiresApproval })),
  );
}
