// A device is in one campaign at a time: a starting, running or paused campaign holds the
// devices it placed, and a starting one also those of its cohort its start has not reached
// yet. Checked when a campaign starts, in the transaction that marks it 'starting', with
// every other start serialized behind it (store/dialect.ts serialize: SQLite's writer lock,
// PostgreSQL's advisory lock): two overlapping campaigns started at once, by two requests or
// two server processes, cannot both pass. The deployments themselves are held by the
// database too (one under way per device, a unique index): what a race on a start leaves
// over is a device counted busy, never a device in two campaigns.
import { AppError } from '../errors.ts';
import { serialize } from '../store/dialect.ts';
import { campaignsIn, type CohortFilter, cohortDevicesIn, cohortHeldByStarting, HOLDING_CAMPAIGN_STATES } from '../store/queries/campaigns.ts';
import type { Tx } from '../store/store.ts';
import { cohortOf, toFilter } from './cohort.ts';

/** The lock every campaign start takes before it checks its cohort. */
const CAMPAIGN_STARTS = 'fota:campaign-starts';

/**
 * Cohort devices held by other campaigns, by campaign (excluding `except`). Each campaign's
 * count is one statement (see cohortHeldByStarting): on PostgreSQL a start's chunk may
 * commit between two statements of this transaction.
 */
async function holders(tx: Tx, filter: CohortFilter, except: string): Promise<Array<{ campaignId: string; devices: number; starting: boolean }>> {
  const found: Array<{ campaignId: string; devices: number; starting: boolean }> = [];
  for (const other of await campaignsIn(tx, HOLDING_CAMPAIGN_STATES)) {
    if (other.id === except) continue;
    const starting = other.state === 'starting';
    const devices = starting ? await cohortHeldByStarting(tx, filter, other.id, toFilter(cohortOf(other))) : await cohortDevicesIn(tx, filter, other.id);
    if (devices > 0) found.push({ campaignId: other.id, devices, starting });
  }
  return found;
}

/**
 * Takes the campaign-start lock, until the transaction commits: first thing in a start's
 * transaction, so that what it reads next includes what the previous start committed.
 */
export async function lockCampaignStarts(tx: Tx): Promise<void> {
  await serialize(tx, CAMPAIGN_STARTS);
}

/**
 * Refuses (409, naming the campaign that holds them) a start whose cohort has devices in
 * another campaign; in a transaction that took lockCampaignStarts first.
 */
export async function assertCohortFree(tx: Tx, campaignId: string, filter: CohortFilter): Promise<void> {
  const [conflict] = await holders(tx, filter, campaignId);
  if (conflict) {
    throw new AppError('CONFLICT', `${conflict.devices} device(s) of this cohort are in campaign ${conflict.campaignId}, which is still ${conflict.starting ? 'starting' : 'running or paused'}; a device is in one campaign at a time`, {
      details: { campaignId: conflict.campaignId, devices: conflict.devices },
    });
  }
}

