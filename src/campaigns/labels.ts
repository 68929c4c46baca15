// How a campaign's stages read for people, in the console and in `fota campaign status`.
// Pure; the wording lives only here.
import type { CampaignView, StageView } from './schemas.ts';

type StageState = StageView['state'];

const STAGE_WORDS: Readonly<Record<StageState, string>> = { pending: 'pending', awaitingApproval: 'awaiting approval', running: 'running', done: 'done' };

/** A stage's own state in words. */
export function stageStateWords(state: StageState): string {
  return STAGE_WORDS[state];
}

/**
 * What holds for a stage: the server leaves a stage's own state alone when its campaign is
 * paused or aborted, so a paused campaign's current stage reads "paused", not "running".
 */
export function stageLabel(campaign: Pick<CampaignView, 'state' | 'currentStage'>, stage: Pick<StageView, 'index' | 'state'>): string {
  if (stage.state === 'done') return STAGE_WORDS.done;
  if (campaign.state === 'aborted') return 'aborted';
  if (campaign.state === 'paused' && stage.index === campaign.currentStage) return 'paused';
  return STAGE_WORDS[stage.state];
}
