// How a campaign and its stages read for people, in the console, `fota campaign status`
// and `fota campaign list`. Pure; the wording lives only here. Each label says what holds
// now, not only what the stored state says: a paused campaign's running stage reads
// "paused", a running stage whose maintenance window is closed reads "waiting for window
// (opens Mon 22:00 Europe/Berlin)", and a stage moved on by an operator says so.
import { percent } from '../format.ts';
import type { CampaignSummary, CampaignView, StageOverride, StageView } from './schemas.ts';

type StageState = StageView['state'];

/** Words, and the tone a badge is drawn in (a state name the console's CSS knows). */
export interface Label {
  tone: string;
  words: string;
}

const STAGE_WORDS: Readonly<Record<StageState, string>> = { pending: 'pending', awaitingApproval: 'awaiting approval', running: 'running', done: 'done' };

type CampaignFacts = Pick<CampaignView, 'state' | 'currentStage'> & Partial<Pick<CampaignView, 'windowNow'>>;
type StageFacts = Pick<StageView, 'index' | 'state'> & Partial<Pick<StageView, 'overrides'>>;

/** A time as ISO; surfaces pass their own (the console writes "2026-12-05 18:03:00 UTC"). */
type When = (iso: string) => string;
const asIs: When = (iso) => iso;

/** A stage's own state in words. */
export function stageStateWords(state: StageState): string {
  return STAGE_WORDS[state];
}

/** Who created the campaign, as approvers are told: the one place that names them. */
export function creatorName(campaign: Pick<CampaignView, 'createdBy'>): string {
  return campaign.createdBy;
}

/** Who may approve: with four eyes, anyone but the creator. */
export function approvalWaitWords(campaign: Pick<CampaignView, 'fourEyes' | 'createdBy'>): string {
  return campaign.fourEyes ? `awaiting approval by someone other than ${creatorName(campaign)}` : 'awaiting approval by an operator';
}

/** The campaign commands nothing now because its window is closed (null when it is open or it has none). */
export function windowWaitWords(campaign: Partial<Pick<CampaignView, 'windowNow'>>): string | null {
  const window = campaign.windowNow;
  if (!window || window.open) return null;
  return window.opensLocal ? `waiting for window (opens ${window.opensLocal})` : 'waiting for window';
}

/** What holds for a stage, with the tone of its badge. */
export function stageBadge(campaign: CampaignFacts, stage: StageFacts): Label {
  if (stage.state === 'done') {
    const movedOn = stage.overrides?.some((o) => o.kind === 'moved-on');
    return { tone: 'done', words: movedOn ? 'done (moved on by override)' : STAGE_WORDS.done };
  }
  if (campaign.state === 'aborted') return { tone: 'aborted', words: 'aborted' };
  const current = stage.index === campaign.currentStage;
  // The server leaves a stage's own state alone when its campaign pauses.
  if (campaign.state === 'paused' && current) return { tone: 'paused', words: 'paused' };
  const waiting = campaign.state === 'running' && current && stage.state === 'running' ? windowWaitWords(campaign) : null;
  if (waiting) return { tone: 'waiting', words: waiting };
  return { tone: stage.state, words: STAGE_WORDS[stage.state] };
}

/** The words of stageBadge. */
export function stageLabel(campaign: CampaignFacts, stage: StageFacts): string {
  return stageBadge(campaign, stage).words;
}

type SummaryFacts = Pick<CampaignSummary, 'state' | 'currentStage' | 'currentStageState' | 'windowNow' | 'fourEyes' | 'createdBy'>;

/** A campaign's state in one phrase, for lists: what it is doing or waiting for now. */
export function campaignBadge(c: SummaryFacts): Label {
  const stage = `stage ${c.currentStage + 1}`;
  if (c.state === 'paused') return { tone: 'paused', words: `paused (${stage})` };
  if (c.state !== 'running') return { tone: c.state, words: c.state };
  if (c.currentStageState === 'awaitingApproval') return { tone: 'awaitingApproval', words: `${stage} ${approvalWaitWords(c)}` };
  const waiting = windowWaitWords(c);
  if (waiting) return { tone: 'waiting', words: `${waiting}, ${stage}` };
  return { tone: 'running', words: `running (${stage})` };
}

/**
 * The pause reason with the time its figures are from: an automatic pause states the
 * counts that made it, which the live counts beside it move past.
 */
export function pauseReasonWords(c: Pick<CampaignView, 'state' | 'pausedReason' | 'pauseKind' | 'pausedAt'>, when: When = asIs): string | null {
  if (!c.pausedReason) return null;
  if (c.state !== 'paused' || !c.pausedAt || c.pauseKind === 'operator' || c.pauseKind === undefined) return c.pausedReason;
  return `${c.pausedReason} (figures as of the pause at ${when(c.pausedAt)}; the counts shown are live)`;
}

/** One override of a stage, with who, when, why and the figures at the time. */
export function overrideWords(o: StageOverride, when: When = asIs): string {
  const why = o.reason ? `: "${o.reason}"` : ' (no reason given)';
  const share = o.total > 0 ? ` (${percent(o.succeeded / o.total)})` : '';
  const what =
    o.kind === 'moved-on'
      ? `moved on short of the success threshold with ${o.succeeded} of ${o.total} succeeded${share}`
      : `accepted ${o.failed} failure${o.failed === 1 ? '' : 's'} (${o.succeeded} of ${o.total} succeeded${share})`;
  return `override by ${o.by} at ${when(o.at)}: ${what}${why}`;
}
