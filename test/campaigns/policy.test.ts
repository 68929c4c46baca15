// The pure campaign policy: every edge of the success, failure, sample and soak thresholds,
// what the operator accepted on a resume, and the steps that follow a finished stage.
import { describe, expect, it } from 'vitest';
import { DEPLOYMENT_STATES, decideStage, emptyCounts, firstStep, nextStep, settledShort, type StageCounts, type StageFacts, type StagePlan, type Thresholds } from '../../src/campaigns/policy.ts';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const SOAK = 60_000;
const thresholds: Thresholds = { successThreshold: 0.9, failureThreshold: 0.2, minSample: 10, soakMs: SOAK };

const counts = (partial: Partial<StageCounts>): StageCounts => ({ ...emptyCounts(), ...partial });
const facts = (partial: Partial<StageCounts>, extra: Partial<StageFacts> = {}): StageFacts => ({
  index: 0,
  counts: counts(partial),
  acceptedFailed: 0,
  acceptedResults: 0,
  forced: false,
  thresholdMetAt: null,
  ...extra,
});

describe('emptyCounts', () => {
  it('has a zero for every deployment state', () => {
    expect(Object.keys(emptyCounts()).sort()).toEqual([...DEPLOYMENT_STATES].sort());
    expect(Object.values(emptyCounts()).every((n) => n === 0)).toBe(true);
  });

  it('returns a fresh object each time, so one stage cannot change another', () => {
    const a = emptyCounts();
    a.failed = 3;
    expect(emptyCounts().failed).toBe(0);
  });
});

describe('decideStage: success threshold (90%)', () => {
  it.each([
    { name: 'waits just below the threshold while devices are under way', c: { succeeded: 89, pending: 11 }, kind: 'wait' },
    { name: 'meets the threshold exactly at it', c: { succeeded: 90, pending: 10 }, kind: 'thresholdMet' },
    { name: 'meets the threshold just above it', c: { succeeded: 91, pending: 9 }, kind: 'thresholdMet' },
    { name: 'meets the threshold exactly at it with failures below the failure threshold', c: { succeeded: 90, failed: 10 }, kind: 'thresholdMet' },
    { name: 'waits at 899 of 1000 (89.9%)', c: { succeeded: 899, installing: 101 }, kind: 'wait' },
    { name: 'meets at 900 of 1000', c: { succeeded: 900, installing: 100 }, kind: 'thresholdMet' },
    { name: 'meets at 901 of 1000', c: { succeeded: 901, installing: 99 }, kind: 'thresholdMet' },
  ])('$name', ({ c, kind }) => {
    expect(decideStage(facts(c), thresholds, T0).kind).toBe(kind);
  });

  it.each([
    { name: 'just below 95% waits', c: { succeeded: 18, downloading: 2 }, kind: 'wait' },
    { name: 'exactly 95% is met', c: { succeeded: 19, downloading: 1 }, kind: 'thresholdMet' },
    { name: 'exactly 100% is met', c: { succeeded: 20 }, kind: 'thresholdMet' },
  ])('with a 95% threshold, $name', ({ c, kind }) => {
    expect(decideStage(facts(c), { ...thresholds, successThreshold: 0.95 }, T0).kind).toBe(kind);
  });

  it('explains a wait with the counts and what is still under way', () => {
    expect(decideStage(facts({ succeeded: 50, pending: 10, scheduled: 10, commanded: 10, downloading: 10, installing: 10 }), thresholds, T0)).toEqual({
      kind: 'wait',
      why: '50 of 100 succeeded; 50 under way',
    });
  });
});

describe('decideStage: failure threshold (20%, minimum sample 10)', () => {
  it.each([
    { name: 'does not pause just below the threshold (19 of 100)', c: { succeeded: 81, failed: 19, pending: 100 }, paused: false },
    { name: 'does not pause exactly at the threshold (20 of 100): only passing it pauses', c: { succeeded: 80, failed: 20, pending: 100 }, paused: false },
    { name: 'pauses just above the threshold (21 of 100)', c: { succeeded: 79, failed: 21, pending: 100 }, paused: true },
    { name: 'does not pause at 1 of 10', c: { succeeded: 9, failed: 1, pending: 90 }, paused: false },
    { name: 'does not pause at 2 of 10 (exactly 20%)', c: { succeeded: 8, failed: 2, pending: 90 }, paused: false },
    { name: 'pauses at 3 of 10', c: { succeeded: 7, failed: 3, pending: 90 }, paused: true },
  ])('$name', ({ c, paused }) => {
    const decision = decideStage(facts(c), thresholds, T0);
    expect(decision.kind === 'pause' && decision.pauseKind === 'failures').toBe(paused);
    if (!paused) expect(decision.kind).toBe('wait');
  });

  it.each([
    { name: 'never pauses for failures below the minimum sample, however bad (9 of 9 failed)', c: { failed: 9, pending: 91 }, kind: 'wait' },
    { name: 'never pauses for failures below the minimum sample (5 of 9 failed)', c: { succeeded: 4, failed: 5, pending: 91 }, kind: 'wait' },
    { name: 'judges failures once results reach the minimum sample (10 of 10 failed)', c: { failed: 10, pending: 90 }, kind: 'pause' },
    { name: 'judges failures at exactly the minimum sample (3 of 10 failed)', c: { succeeded: 7, failed: 3, pending: 90 }, kind: 'pause' },
  ])('$name', ({ c, kind }) => {
    expect(decideStage(facts(c), thresholds, T0).kind).toBe(kind);
  });

  it('with no minimum sample, still needs one result before judging failures', () => {
    expect(decideStage(facts({ pending: 10 }), { ...thresholds, minSample: 0 }, T0)).toEqual({ kind: 'wait', why: '0 of 10 succeeded; 10 under way' });
    expect(decideStage(facts({ failed: 1, pending: 9 }), { ...thresholds, minSample: 0 }, T0)).toMatchObject({ kind: 'pause', pauseKind: 'failures' });
  });

  it.each([
    { name: 'when the success threshold is met but not yet soaked', extra: { thresholdMetAt: null } },
    { name: 'while soaking', extra: { thresholdMetAt: T0 - 1000 } },
    { name: 'even when the soak has elapsed', extra: { thresholdMetAt: T0 - SOAK } },
    { name: 'even when the operator forced the stage through', extra: { forced: true, thresholdMetAt: T0 - SOAK } },
  ])('checks failures before success: pauses $name', ({ extra }) => {
    // 60 of 100 succeeded passes a 50% success threshold; 40 of 100 failed passes 20%.
    const decision = decideStage(facts({ succeeded: 60, failed: 40 }, extra), { ...thresholds, successThreshold: 0.5 }, T0);
    expect(decision).toMatchObject({ kind: 'pause', pauseKind: 'failures' });
  });
});

describe('decideStage: the pause reason', () => {
  it('names the stage, the counts, the percentage, the threshold and the most common result code', () => {
    const decision = decideStage(facts({ succeeded: 7, failed: 3, pending: 5 }, { index: 1, topFailure: { code: '410', count: 2 } }), thresholds, T0);
    expect(decision).toEqual({
      kind: 'pause',
      pauseKind: 'failures',
      reason: 'stage 2: 3 of 10 results failed (30%), above the failure threshold 20%; most common result: 410 (2)',
    });
  });

  it.each([
    { name: 'rounds the percentage to one decimal', c: { succeeded: 20, failed: 10 }, top: { code: 'timeout', count: 10 }, text: 'stage 1: 10 of 30 results failed (33.3%), above the failure threshold 20%; most common result: timeout (10)' },
    { name: 'leaves out the result code when none is known', c: { succeeded: 5, failed: 5 }, top: undefined, text: 'stage 1: 5 of 10 results failed (50%), above the failure threshold 20%' },
  ])('$name', ({ c, top, text }) => {
    const decision = decideStage(facts(c, top ? { topFailure: top } : {}), thresholds, T0);
    expect(decision).toEqual({ kind: 'pause', pauseKind: 'failures', reason: text });
  });

  it('keeps its figures in agreement after a resume: new results counted as such, the code among all failures said to be so', () => {
    // 16 failures were accepted at a resume (16 of 19 results); since then 3 of 11 failed.
    const stage = facts({ succeeded: 11, failed: 19, pending: 5 }, { acceptedFailed: 16, acceptedResults: 19, topFailure: { code: '410', count: 16 } });
    const decision = decideStage(stage, { ...thresholds, minSample: 10 }, T0);
    expect(decision).toEqual({
      kind: 'pause',
      pauseKind: 'failures',
      reason: 'stage 1: 3 of 11 results since the last resume failed (27.3%), above the failure threshold 20%; 19 failed in the stage in all, 16 of them accepted at a resume; most common among all: 410 (16)',
    });
  });

  it('shows a fractional threshold as a percentage with one decimal', () => {
    const decision = decideStage(facts({ succeeded: 90, failed: 10 }), { ...thresholds, failureThreshold: 0.025 }, T0);
    expect(decision).toMatchObject({ reason: 'stage 1: 10 of 100 results failed (10%), above the failure threshold 2.5%' });
  });

  it('names the counts, the percentage and the threshold when a settled stage ends below success', () => {
    const decision = decideStage(facts({ succeeded: 85, failed: 15 }, { index: 2 }), thresholds, T0);
    expect(decision).toEqual({
      kind: 'pause',
      pauseKind: 'below-success',
      reason: 'stage 3 finished with 85 of 100 succeeded (85%), below the success threshold 90%',
    });
  });
});

describe('decideStage: what the operator accepted on a resume', () => {
  const t = { ...thresholds, failureThreshold: 0.25, minSample: 5 };

  it.each([
    // 3 of 5 accepted as failed; then 5 new results.
    { name: 'judges only the new results: 1 new failure of 5 (20%) does not pause, although 4 of 10 overall would', c: { succeeded: 6, failed: 4, pending: 10 }, kind: 'wait' },
    { name: 'judges only the new results: 2 new failures of 5 (40%) pause', c: { succeeded: 5, failed: 5, pending: 10 }, kind: 'pause' },
    { name: 'waits for the minimum sample of new results: 4 new failures of 4 do not pause', c: { succeeded: 2, failed: 7, pending: 11 }, kind: 'wait' },
    { name: 'does not pause again on the accepted results alone', c: { succeeded: 2, failed: 3, pending: 15 }, kind: 'wait' },
  ])('$name', ({ c, kind }) => {
    expect(decideStage(facts(c, { acceptedFailed: 3, acceptedResults: 5 }), t, T0).kind).toBe(kind);
  });

  it('names only the new results in the pause reason', () => {
    const decision = decideStage(facts({ succeeded: 5, failed: 5, pending: 10 }, { acceptedFailed: 3, acceptedResults: 5 }), t, T0);
    expect(decision).toMatchObject({ reason: 'stage 1: 2 of 5 results since the last resume failed (40%), above the failure threshold 25%' });
  });

  it('judges the new results at exactly the failure threshold as not passed', () => {
    // 3 of 5 accepted, then 1 failure among 5 new results: 20% against a 20% threshold.
    const decision = decideStage(facts({ succeeded: 6, failed: 4, pending: 10 }, { acceptedFailed: 3, acceptedResults: 5 }), { ...thresholds, minSample: 5 }, T0);
    expect(decision.kind).toBe('wait');
  });
});

describe('decideStage: soak time', () => {
  it.each([
    { name: 'reports the threshold met when it has not been recorded yet', metAt: null, now: T0, expected: { kind: 'thresholdMet' } },
    { name: 'waits the whole soak right after the threshold is met', metAt: T0, now: T0, expected: { kind: 'wait', why: 'soaking for 60 s more' } },
    { name: 'waits while soaking', metAt: T0, now: T0 + 30_000, expected: { kind: 'wait', why: 'soaking for 30 s more' } },
    { name: 'rounds the seconds left up', metAt: T0, now: T0 + SOAK - 1, expected: { kind: 'wait', why: 'soaking for 1 s more' } },
    { name: 'advances when the soak has elapsed exactly', metAt: T0, now: T0 + SOAK, expected: { kind: 'advance' } },
    { name: 'advances after the soak', metAt: T0, now: T0 + SOAK + 1, expected: { kind: 'advance' } },
  ])('$name', ({ metAt, now, expected }) => {
    expect(decideStage(facts({ succeeded: 95, pending: 5 }, { thresholdMetAt: metAt }), thresholds, now)).toEqual(expected);
  });

  it('advances at once with no soak', () => {
    expect(decideStage(facts({ succeeded: 10 }, { thresholdMetAt: T0 }), { ...thresholds, soakMs: 0 }, T0)).toEqual({ kind: 'advance' });
  });

  it.each([
    { name: 'hands an earlier stage over while its stragglers finish', c: { succeeded: 95, scheduled: 3, installing: 2 }, last: false, expected: { kind: 'advance' } },
    { name: 'keeps the last stage (and so the campaign) open while devices are under way', c: { succeeded: 95, scheduled: 3, installing: 2 }, last: true, expected: { kind: 'wait', why: '5 devices still under way' } },
    { name: 'completes the last stage once every device has a result', c: { succeeded: 95, failed: 5 }, last: true, expected: { kind: 'advance' } },
    { name: 'completes the last stage with canceled deployments left', c: { succeeded: 95, canceled: 5 }, last: true, expected: { kind: 'advance' } },
  ])('$name', ({ c, last, expected }) => {
    expect(decideStage(facts(c, { thresholdMetAt: T0, last }), { ...thresholds, soakMs: 0 }, T0)).toEqual(expected);
  });

  it('keeps soaking while later devices are still under way and the share stays met', () => {
    expect(decideStage(facts({ succeeded: 90, installing: 10 }, { thresholdMetAt: T0 }), thresholds, T0 + 1000)).toMatchObject({ kind: 'wait' });
  });
});

describe('decideStage: settled stages, forced stages and empty stages', () => {
  it.each([
    { name: 'pauses a settled stage below the success threshold', c: { succeeded: 89, failed: 11 }, expected: { kind: 'pause', pauseKind: 'below-success' } },
    { name: 'pauses a settled stage whose devices were partly canceled below success', c: { succeeded: 8, failed: 2, canceled: 90 }, expected: { kind: 'pause', pauseKind: 'below-success' } },
    { name: 'waits below success while one device is pending', c: { succeeded: 89, failed: 10, pending: 1 }, expected: { kind: 'wait' } },
    { name: 'waits below success while one device is scheduled', c: { succeeded: 89, failed: 10, scheduled: 1 }, expected: { kind: 'wait' } },
    { name: 'waits below success while one device is commanded', c: { succeeded: 89, failed: 10, commanded: 1 }, expected: { kind: 'wait' } },
    { name: 'waits below success while one device is downloading', c: { succeeded: 89, failed: 10, downloading: 1 }, expected: { kind: 'wait' } },
    { name: 'waits below success while one device is installing', c: { succeeded: 89, failed: 10, installing: 1 }, expected: { kind: 'wait' } },
  ])('$name', ({ c, expected }) => {
    expect(decideStage(facts(c), thresholds, T0)).toMatchObject(expected);
  });

  it.each([
    { name: 'reports the threshold met for a forced stage not yet soaked', metAt: null, now: T0, kind: 'thresholdMet' },
    { name: 'waits out the soak for a forced stage', metAt: T0, now: T0 + 1, kind: 'wait' },
    { name: 'advances a forced stage that settled below success once soaked', metAt: T0, now: T0 + SOAK, kind: 'advance' },
  ])('$name', ({ metAt, now, kind }) => {
    expect(decideStage(facts({ succeeded: 50, failed: 10 }, { forced: true, thresholdMetAt: metAt }), thresholds, now).kind).toBe(kind);
  });

  it.each([
    { name: 'meets success for an empty stage', c: {} },
    { name: 'meets success for a stage whose deployments were all canceled', c: { canceled: 5 } },
    { name: 'leaves canceled deployments out of the total (85 of 85, not 85 of 100)', c: { succeeded: 85, canceled: 15 } },
  ])('$name', ({ c }) => {
    expect(decideStage(facts(c), thresholds, T0)).toEqual({ kind: 'thresholdMet' });
  });

  it('advances an empty stage with no soak at once', () => {
    expect(decideStage(facts({}, { thresholdMetAt: T0 }), { ...thresholds, soakMs: 0 }, T0)).toEqual({ kind: 'advance' });
  });

  it('counts canceled deployments out of the total in the wait message', () => {
    expect(decideStage(facts({ succeeded: 5, pending: 5, canceled: 10 }), thresholds, T0)).toEqual({ kind: 'wait', why: '5 of 10 succeeded; 5 under way' });
  });
});

describe('nextStep and firstStep', () => {
  const plan = (...gates: boolean[]): StagePlan[] => gates.map((requiresApproval) => ({ requiresApproval }));

  it.each([
    { name: 'starts the next stage when it needs no approval', stages: plan(false, false, false), done: 0, expected: { kind: 'start', index: 1 } },
    { name: 'waits for approval before a gated stage', stages: plan(false, true, false), done: 0, expected: { kind: 'awaitApproval', index: 1 } },
    { name: 'starts an ungated stage after a gated one', stages: plan(false, true, false), done: 1, expected: { kind: 'start', index: 2 } },
    { name: 'waits for approval before a gated last stage', stages: plan(false, false, true), done: 1, expected: { kind: 'awaitApproval', index: 2 } },
    { name: 'completes after the last stage', stages: plan(false, true, false), done: 2, expected: { kind: 'complete' } },
    { name: 'completes after the only stage', stages: plan(true), done: 0, expected: { kind: 'complete' } },
  ])('nextStep $name', ({ stages, done, expected }) => {
    expect(nextStep(stages, done)).toEqual(expected);
  });

  it.each([
    { name: 'starts the first stage when it needs no approval', stages: plan(false, true), expected: { kind: 'start', index: 0 } },
    { name: 'waits for approval when the first stage requires it', stages: plan(true, false), expected: { kind: 'awaitApproval', index: 0 } },
    { name: 'completes a campaign with no stages', stages: plan(), expected: { kind: 'complete' } },
  ])('firstStep $name', ({ stages, expected }) => {
    expect(firstStep(stages)).toEqual(expected);
  });
});

describe('settledShort', () => {
  it.each([
    { name: 'is true when every device finished and too few succeeded', c: { succeeded: 17, failed: 3 }, short: true },
    { name: 'is false while a device is still under way', c: { succeeded: 17, failed: 2, installing: 1 }, short: false },
    { name: 'is false at the threshold', c: { succeeded: 18, failed: 2 }, short: false },
    { name: 'is false for an empty stage (nothing to wait for)', c: { canceled: 4 }, short: false },
  ])('$name', ({ c, short }) => {
    expect(settledShort(counts(c), 0.9)).toBe(short);
  });
});
