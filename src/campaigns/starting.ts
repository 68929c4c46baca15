// A campaign in 'starting' is placed a chunk at a time, so a start of a million devices
// never holds the event loop (or SQLite's writer) for more than one chunk, sized to take
// about PACE_MS (chunk-pace.ts; CONVENTIONS 12). Two passes over the cohort, in id order
// (keyset pages):
//   1. the stage bounds: every eligible device's hash, read page by page outside any
//      transaction, sorted once; stored on the campaign (start_bounds), so a resumed start
//      places devices exactly as the interrupted one did;
//   2. the deployments: each chunk is one transaction that locks the campaign, reads the
//      next page after start_cursor, inserts its pending deployments, and moves the cursor
//      and the counts (cohort size so far: the start's progress) in the same commit.
// A crash loses at most the chunk under way (rolled back with its cursor): the campaign
// loop resumes a start nobody has moved for a lease period (resumeStalledStarts), and two
// drivers of one start take turns on the locked campaign without placing a device twice.
// The last transaction makes the campaign running and starts its first stage.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Context } from '../context.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { campaignsIn, type CohortFilter, type CohortPageRow, cohortPage, findCampaign, insertCampaignDeployments, placedStagesOf, stagesOf, updateCampaign, updateStage } from '../store/queries/campaigns.ts';
import type { Store, Tx } from '../store/store.ts';
import { type StageBound, stageBounds, stageByBounds, stageHash } from './assign.ts';
import { cohortOf, toFilter } from './cohort.ts';
import { ENGINE_ACTOR, firstStep } from './policy.ts';
import { scheduleNextChunkOf, type StepBy, stepBy, takeStep } from './engine.ts';
import { type AlreadyDone, alreadyDoneTest } from './payload.ts';
import { ChunkPace, cpuTimer } from './chunk-pace.ts';
import { campaignHeldVersions } from './security-hold.ts';

/**
 * Devices placed by the first transaction; the next ones take what fits in PACE_MS at the
 * rate measured (a chunk of 5,000 took 50-80 ms of SQLite work on a quiet machine, and
 * several times that on a loaded one: bench:campaign).
 */
export const START_CHUNK = 2_000;
// At most the 5,000 of a fixed chunk before: on PostgreSQL a chunk's transaction is not on
// the event loop, but a one-device deployment of one of its devices waits for its COMMIT.
const startPace = () => new ChunkPace({ first: START_CHUNK, min: 500, max: 5_000 });
/**
 * Devices read by the first page while hashing the cohort (reads only, no write lock
 * held): a page of 20,000 took 60-100 ms, so pages are paced as well.
 */
const SCAN_PAGE = 5_000;
const scanPace = () => new ChunkPace({ first: SCAN_PAGE, min: 500, max: 50_000 });

/** A device on a build of higher securityVersion than the campaign's: left out (security-hold.ts). */
const securityHeld = (row: CohortPageRow, held: ReadonlyMap<string, number>) => row.firmwareVersion !== null && held.has(row.firmwareVersion);

/** Whether a cohort device gets a deployment: not on the target already (payload.ts: alreadyDoneTest), nothing under way on it, not held by its security version. */
const eligible = (row: CohortPageRow, done: Set<string>, held: ReadonlyMap<string, number>) => !row.busy && !done.has(row.id) && !securityHeld(row, held);

/**
 * Drives a start to its end (or until another process or an abort takes it over). Returns
 * once the campaign is no longer 'starting'.
 */
export async function continueStart(ctx: Context, campaignId: string, by: StepBy): Promise<void> {
  const campaign = await findCampaign(ctx.db, campaignId);
  if (campaign?.state !== 'starting') return;
  const alreadyDone = await alreadyDoneTest(ctx.db, campaign);
  if (alreadyDone === undefined) return;
  const filter = toFilter(cohortOf(campaign));
  // Recomputed by a resumed start alike: it depends only on builds, which do not change.
  const held = await campaignHeldVersions(ctx.db, campaign, filter);
  if (campaign.startBounds === null) {
    const percents = (await stagesOf(ctx.db, campaignId)).map((s) => s.percent);
    const bounds = await boundsOf(ctx.db, campaignId, filter, alreadyDone, held, percents);
    await ctx.db.transaction(async (tx) => {
      const locked = await findCampaign(tx, campaignId, { forUpdate: true });
      // A second driver may have stored them first: theirs stand (devices may already be placed by them).
      if (locked?.state === 'starting' && locked.startBounds === null) await updateCampaign(tx, campaignId, { startBounds: JSON.stringify(bounds), updatedAt: ctx.clock.now() });
    });
  }
  // Before every chunk, requests waiting on the event loop (and on SQLite's writer) run:
  // on SQLite a transaction's statements never wait, so two chunks with no turn between
  // them (the bounds then the first chunk, the last chunk then finishStart, finishStart then
  // the next chunk) held the loop as one (bench:campaign: 3.6 s at the first stage's start).
  const pace = startPace();
  for (;;) {
    await nextTurn();
    const step = await pace.inTransaction(
      ctx.db,
      (tx, limit) => placeChunk(tx, campaignId, filter, alreadyDone, held, ctx.clock.now(), limit),
      (_, limit) => limit,
    );
    if (step === 'gone') return;
    if (step === 'done') break;
  }
  await nextTurn();
  await ctx.db.transaction((tx) => finishStart(tx, by, campaignId, ctx.clock.now()), { bulk: true });
  // The first stage's rest (its start scheduled one chunk), a chunk per transaction as well.
  for (;;) {
    await nextTurn();
    const running = await findCampaign(ctx.db, campaignId);
    if (!running || (await scheduleNextChunkOf(ctx, running)) === 0) break;
  }
  // An empty first stage finishes at once, a campaign with no devices completes: when the
  // engine looks, outside this call.
  ctx.signals.emit({ kind: 'campaign-moved', campaignId });
}

/** The hashes of the devices the start takes, a page at a time, and the stage bounds they give. */
async function boundsOf(db: Store, campaignId: string, filter: CohortFilter, alreadyDone: AlreadyDone, held: ReadonlyMap<string, number>, percents: number[]): Promise<StageBound[]> {
  let hashes = new Float64Array(SCAN_PAGE);
  let n = 0;
  await eachEligible(db, filter, alreadyDone, held, (id) => {
    if (n === hashes.length) {
      const grown = new Float64Array(hashes.length * 2);
      grown.set(hashes);
      hashes = grown;
    }
    hashes[n++] = stageHash(campaignId, id);
  });
  return stageBounds(hashes.subarray(0, n), percents, async (hash) => {
    const ids: string[] = [];
    await eachEligible(db, filter, alreadyDone, held, (id) => {
      if (stageHash(campaignId, id) === hash) ids.push(id);
    });
    return ids;
  });
}

async function eachEligible(db: Store, filter: CohortFilter, alreadyDone: AlreadyDone, held: ReadonlyMap<string, number>, visit: (id: string) => void): Promise<void> {
  const pace = scanPace();
  for (let after = ''; ; ) {
    const limit = pace.size;
    const elapsed = cpuTimer();
    const page = await cohortPage(db, filter, after, limit);
    const done = await alreadyDone(db, page);
    for (const row of page) if (eligible(row, done, held)) visit(row.id);
    pace.took(page.length, elapsed());
    const last = page.at(-1);
    if (!last || page.length < limit) return;
    after = last.id;
    await nextTurn();
  }
}

/** One chunk of the start (up to `limit` cohort devices), in its own transaction: 'more' to come, 'done', or 'gone' (no longer starting). */
async function placeChunk(tx: Tx, campaignId: string, filter: CohortFilter, alreadyDone: AlreadyDone, held: ReadonlyMap<string, number>, now: number, limit: number): Promise<'more' | 'done' | 'gone'> {
  const campaign = await findCampaign(tx, campaignId, { forUpdate: true });
  if (campaign?.state !== 'starting' || campaign.startBounds === null) return 'gone';
  const bounds = JSON.parse(campaign.startBounds) as StageBound[];
  const page = await cohortPage(tx, filter, campaign.startCursor ?? '', limit);
  const last = page.at(-1);
  if (!last) return 'done';
  const devices: Array<{ id: string; stage: number }> = [];
  let alreadyCurrent = 0;
  let busy = 0;
  const done = await alreadyDone(tx, page);
  let heldBack = 0;
  for (const row of page) {
    if (done.has(row.id)) alreadyCurrent++;
    else if (row.busy) busy++;
    else if (securityHeld(row, held)) heldBack++;
    else devices.push({ id: row.id, stage: stageByBounds(stageHash(campaignId, row.id), row.id, bounds) });
  }
  // Inserted stage by stage (in id order within each): a stage's rows of this chunk then
  // lie side by side in the table and in the state indexes, so scheduling a small stage
  // later touches a page per few dozen of its rows instead of a page per row.
  devices.sort((a, b) => a.stage - b.stage);
  const inserted = await insertCampaignDeployments(tx, {
    campaignId,
    buildId: campaign.buildId,
    profileVersionId: campaign.profileVersionId,
    devices,
    // The campaign id's random part keeps deployment ids unique across campaigns; the
    // sequence within this one counts the devices offered so far (placed, or found busy
    // only as they were inserted: their numbers are skipped, never given twice).
    idPrefix: campaignId.slice(campaignId.indexOf('_') + 1),
    firstSeq: campaign.cohortSize + campaign.busy,
    createdBy: campaign.createdBy,
    now,
  });
  // Devices that got a deployment under way since the page was read (on PostgreSQL, a
  // concurrent one-device deployment or another campaign's start) were left out by the
  // database: they count as busy, and only those placed count in their stage.
  const placed = inserted === devices.length ? devices : await placedOnly(tx, campaignId, devices);
  busy += devices.length - placed.length;
  const perStage = new Map<number, number>();
  for (const d of placed) perStage.set(d.stage, (perStage.get(d.stage) ?? 0) + 1);
  if (perStage.size > 0) {
    for (const stage of await stagesOf(tx, campaignId)) {
      const added = perStage.get(stage.index);
      if (added) await updateStage(tx, campaignId, stage.index, { size: stage.size + added });
    }
  }
  await updateCampaign(tx, campaignId, {
    startCursor: last.id,
    cohortSize: campaign.cohortSize + inserted,
    alreadyCurrent: campaign.alreadyCurrent + alreadyCurrent,
    busy: campaign.busy + busy,
    securityHeld: campaign.securityHeld + heldBack,
    updatedAt: now,
  });
  return page.length < limit ? 'done' : 'more';
}

/** Those of `devices` that have their deployment in the campaign. */
async function placedOnly(tx: Tx, campaignId: string, devices: Array<{ id: string; stage: number }>): Promise<Array<{ id: string; stage: number }>> {
  const placed = await placedStagesOf(tx, campaignId, devices.map((d) => d.id));
  return devices.filter((d) => placed.has(d.id));
}

/** Every device placed: the campaign runs, and its first stage starts (or waits for approval). */
async function finishStart(tx: Tx, by: StepBy, campaignId: string, now: number): Promise<void> {
  const campaign = await findCampaign(tx, campaignId, { forUpdate: true });
  if (campaign?.state !== 'starting') return;
  const stages = await stagesOf(tx, campaignId);
  await updateCampaign(tx, campaignId, { state: 'running', startBounds: null, startCursor: null, updatedAt: now, joinScanAt: now });
  campaign.state = 'running';
  await recordAudit(
    tx,
    {
      actor: by.actor,
      action: 'campaign.started',
      subject: campaignId,
      details: { deployments: campaign.cohortSize, alreadyCurrent: campaign.alreadyCurrent, busy: campaign.busy, securityHeld: campaign.securityHeld, stageSizes: stages.map((s) => s.size) },
    },
    now,
  );
  await takeStep(tx, by, campaign, stages, firstStep(stages), now);
}

/**
 * Starts left 'starting' by a process that stopped driving them (it died, or restarted):
 * one whose campaign row has not moved for `staleMs` is taken up again here. Run by the
 * campaign loop under its lease.
 */
export async function resumeStalledStarts(ctx: Context, staleMs: number): Promise<void> {
  const now = ctx.clock.now();
  for (const campaign of await campaignsIn(ctx.db, ['starting'])) {
    if (now - campaign.updatedAt < staleMs) continue;
    ctx.log.warn({ campaignId: campaign.id, placed: campaign.cohortSize }, 'resuming a campaign start left unfinished');
    await continueStart(ctx, campaign.id, stepBy(ctx, ENGINE_ACTOR));
  }
}
