// Pure decisions of a campaign: from the counts of a stage's deployments (and what the
// operator accepted), whether the stage waits, pauses the campaign, or lets the next stage
// start; and what follows a finished stage. No I/O here: engine.ts applies the decisions,
// and every edge is checked by table tests.

/** Who the engine's own decisions are recorded as. */
export const ENGINE_ACTOR = 'campaign-engine';

export const DEPLOYMENT_STATES = ['pending', 'scheduled', 'commanded', 'downloading', 'installing', 'succeeded', 'failed', 'canceled'] as const;
export type CountedState = (typeof DEPLOYMENT_STATES)[number];
export type StageCounts = Record<CountedState, number>;

export const emptyCounts = (): StageCounts => ({ pending: 0, scheduled: 0, commanded: 0, downloading: 0, installing: 0, succeeded: 0, failed: 0, canceled: 0 });

export interface Thresholds {
  /** Share of the stage's deployments that must succeed before the next stage (0..1). */
  successThreshold: number;
  /** Share of failed among results that pauses the campaign once passed (0..1). */
  failureThreshold: number;
  /** Results (succeeded + failed) needed before the failure share is judged. */
  minSample: number;
  /** Wait after the success threshold is met before the next stage. */
  soakMs: number;
}

export interface StageFacts {
  index: number;
  counts: StageCounts;
  /** Results the operator accepted by resuming after an automatic pause. */
  acceptedFailed: number;
  acceptedResults: number;
  /** The operator resumed a stage that settled below its success threshold. */
  forced: boolean;
  thresholdMetAt: number | null;
  /** The most common FUMO result code among the stage's failures ('timeout' when none was reported). */
  topFailure?: { code: string; count: number };
  /** The last stage: the campaign completes only once none of its deployments is under way. */
  last?: boolean;
}

export type StageDecision =
  | { kind: 'wait'; why: string }
  | { kind: 'pause'; pauseKind: 'failures' | 'below-success'; reason: string }
  | { kind: 'thresholdMet' }
  | { kind: 'advance' };

const IN_FLIGHT: CountedState[] = ['pending', 'scheduled', 'commanded', 'downloading', 'installing'];
const pct = (share: number) => `${Math.round(share * 1000) / 10}%`;

/** A stage's deployments that count (canceled ones do not) and those not yet finished. */
export function stageFigures(c: StageCounts): { total: number; inFlight: number } {
  return { total: DEPLOYMENT_STATES.reduce((sum, s) => sum + (s === 'canceled' ? 0 : c[s]), 0), inFlight: IN_FLIGHT.reduce((sum, s) => sum + c[s], 0) };
}

/** Every device of the stage has finished, and too few succeeded to move on by the rules. */
export function settledShort(c: StageCounts, successThreshold: number): boolean {
  const { total, inFlight } = stageFigures(c);
  return inFlight === 0 && total > 0 && c.succeeded / total < successThreshold;
}

/**
 * The most common failure, told so its figure agrees with the counts before it: once
 * earlier failures were accepted, it is a code among all the stage's failures, and says so.
 */
function topFailureWords(stage: StageFacts): string {
  if (!stage.topFailure) return '';
  const top = `${stage.topFailure.code} (${stage.topFailure.count})`;
  if (stage.acceptedFailed === 0) return `; most common result: ${top}`;
  return `; ${stage.counts.failed} failed in the stage in all, ${stage.acceptedFailed} of them accepted at a resume; most common among all: ${top}`;
}

export function decideStage(stage: StageFacts, t: Thresholds, now: number): StageDecision {
  const c = stage.counts;
  const { total, inFlight } = stageFigures(c);
  const newFailed = c.failed - stage.acceptedFailed;
  const newResults = c.succeeded + c.failed - stage.acceptedResults;
  // Failures first: a stage that is also past its success threshold still stops when too
  // many of its devices fail.
  if (newResults >= t.minSample && newResults > 0 && newFailed / newResults > t.failureThreshold) {
    const top = topFailureWords(stage);
    const since = stage.acceptedResults > 0 ? ' since the last resume' : '';
    return {
      kind: 'pause',
      pauseKind: 'failures',
      reason: `stage ${stage.index + 1}: ${newFailed} of ${newResults} results${since} failed (${pct(newFailed / newResults)}), above the failure threshold ${pct(t.failureThreshold)}${top}`,
    };
  }
  const successMet = stage.forced || total === 0 || c.succeeded / total >= t.successThreshold;
  if (successMet) {
    if (stage.thresholdMetAt === null) return { kind: 'thresholdMet' };
    const soakLeft = stage.thresholdMetAt + t.soakMs - now;
    if (soakLeft > 0) return { kind: 'wait', why: `soaking for ${Math.ceil(soakLeft / 1000)} s more` };
    // Earlier stages hand over while their stragglers finish; the campaign itself is not
    // complete while any device is still being updated.
    return stage.last && inFlight > 0 ? { kind: 'wait', why: `${inFlight} devices still under way` } : { kind: 'advance' };
  }
  if (inFlight === 0) {
    return {
      kind: 'pause',
      pauseKind: 'below-success',
      reason: `stage ${stage.index + 1} finished with ${c.succeeded} of ${total} succeeded (${pct(c.succeeded / total)}), below the success threshold ${pct(t.successThreshold)}`,
    };
  }
  return { kind: 'wait', why: `${c.succeeded} of ${total} succeeded; ${inFlight} under way` };
}

export interface StagePlan {
  requiresApproval: boolean;
}

export type NextStep = { kind: 'start'; index: number } | { kind: 'awaitApproval'; index: number } | { kind: 'complete' };

/** What follows stage `done`: the next stage, its approval gate, or the end. */
export function nextStep(stages: StagePlan[], done: number): NextStep {
  const next = stages[done + 1];
  if (!next) return { kind: 'complete' };
  return next.requiresApproval ? { kind: 'awaitApproval', index: done + 1 } : { kind: 'start', index: done + 1 };
}

/** The first stage at the start: it may itself wait for approval. */
export function firstStep(stages: StagePlan[]): NextStep {
  return nextStep(stages, -1);
}
