// How campaigns and stages read, as the console, `fota campaign status` and `fota campaign
// list` all show them: what holds now, not only the stored state.
import { describe, expect, it } from 'vitest';
import { approvalWaitWords, campaignBadge, creatorName, overrideWords, pauseReasonWords, stageBadge, stageLabel, stageStateWords } from '../../src/campaigns/labels.ts';

const closed = { open: false, opensAt: '2026-01-12T21:00:00.000Z', opensLocal: 'Mon 22:00 Europe/Berlin' };
const open = { open: true, opensAt: null, opensLocal: null };

describe('stage labels', () => {
  it('say what holds for a paused or aborted campaign, which leaves its stages as they were', () => {
    expect(stageLabel({ state: 'paused', currentStage: 1 }, { index: 1, state: 'running' })).toBe('paused');
    expect(stageLabel({ state: 'paused', currentStage: 1 }, { index: 2, state: 'pending' })).toBe('pending');
    expect(stageLabel({ state: 'aborted', currentStage: 0 }, { index: 2, state: 'pending' })).toBe('aborted');
    expect(stageLabel({ state: 'aborted', currentStage: 1 }, { index: 0, state: 'done' })).toBe('done');
    expect(stageLabel({ state: 'running', currentStage: 0 }, { index: 0, state: 'awaitingApproval' })).toBe('awaiting approval');
    expect(stageStateWords('awaitingApproval')).toBe('awaiting approval');
  });

  it('draw a paused stage in the paused tone, not the running one', () => {
    expect(stageBadge({ state: 'paused', currentStage: 0 }, { index: 0, state: 'running' })).toEqual({ tone: 'paused', words: 'paused' });
  });

  it("say a running stage waits for its window, and when it opens, while the window is closed (the README's Mon-Fri 22:00-05:00 Berlin on a Saturday)", () => {
    expect(stageBadge({ state: 'running', currentStage: 0, windowNow: closed }, { index: 0, state: 'running' })).toEqual({ tone: 'waiting', words: 'waiting for window (opens Mon 22:00 Europe/Berlin)' });
    expect(stageLabel({ state: 'running', currentStage: 0, windowNow: open }, { index: 0, state: 'running' })).toBe('running');
    // A paused campaign is paused whatever its window does.
    expect(stageLabel({ state: 'paused', currentStage: 0, windowNow: closed }, { index: 0, state: 'running' })).toBe('paused');
  });

  it('say a stage moved on by an override was not done by the rules', () => {
    const override = { kind: 'moved-on' as const, by: 'alice', reason: 'bad lot', at: '2026-01-10T10:00:00.000Z', succeeded: 17, failed: 3, total: 20 };
    expect(stageLabel({ state: 'running', currentStage: 1 }, { index: 0, state: 'done', overrides: [override] })).toBe('done (moved on by override)');
  });
});

const summary = { state: 'running' as const, currentStage: 0, currentStageState: 'running' as const, windowNow: null, fourEyes: true, createdBy: 'alice' };

describe('campaign badges (fota campaign list, the console overview)', () => {
  it('say a campaign awaits approval, by someone other than its creator under four eyes', () => {
    expect(campaignBadge({ ...summary, currentStage: 1, currentStageState: 'awaitingApproval' })).toEqual({ tone: 'awaitingApproval', words: 'stage 2 awaiting approval by someone other than alice' });
    expect(campaignBadge({ ...summary, fourEyes: false, currentStageState: 'awaitingApproval' }).words).toBe('stage 1 awaiting approval by an operator');
  });

  it('say running, paused, or waiting for the window with the stage', () => {
    expect(campaignBadge(summary).words).toBe('running (stage 1)');
    expect(campaignBadge({ ...summary, state: 'paused' })).toEqual({ tone: 'paused', words: 'paused (stage 1)' });
    expect(campaignBadge({ ...summary, windowNow: closed }).words).toBe('waiting for window (opens Mon 22:00 Europe/Berlin), stage 1');
    expect(campaignBadge({ ...summary, state: 'completed' }).words).toBe('completed');
  });

  it('name the creator from one place', () => {
    expect(creatorName({ createdBy: 'alice' })).toBe('alice');
    expect(approvalWaitWords({ fourEyes: true, createdBy: 'alice' })).toBe('awaiting approval by someone other than alice');
  });
});

describe('pause reasons and overrides', () => {
  it("date an automatic pause's figures, since the counts beside them move on", () => {
    const paused = { state: 'paused' as const, pausedReason: 'stage 1: 3 of 5 results failed (60%)', pauseKind: 'failures' as const, pausedAt: '2026-01-10T10:00:00.000Z' };
    expect(pauseReasonWords(paused)).toBe('stage 1: 3 of 5 results failed (60%) (figures as of the pause at 2026-01-10T10:00:00.000Z; the counts shown are live)');
    expect(pauseReasonWords({ ...paused, pauseKind: 'operator', pausedReason: 'paused by ops: freeze' })).toBe('paused by ops: freeze');
    expect(pauseReasonWords({ state: 'running' })).toBeNull();
  });

  it('tell an override with who, when, what and why', () => {
    const at = '2026-01-10T10:00:00.000Z';
    expect(overrideWords({ kind: 'moved-on', by: 'alice', reason: 'bad lot', at, succeeded: 17, failed: 3, total: 20 })).toBe(
      'override by alice at 2026-01-10T10:00:00.000Z: moved on short of the success threshold with 17 of 20 succeeded (85%): "bad lot"',
    );
    expect(overrideWords({ kind: 'accepted-failures', by: 'bob', reason: null, at, succeeded: 2, failed: 1, total: 5 })).toBe(
      'override by bob at 2026-01-10T10:00:00.000Z: accepted 1 failure (2 of 5 succeeded (40%)) (no reason given)',
    );
  });
});
