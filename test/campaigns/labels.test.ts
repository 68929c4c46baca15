// A stage's state in words, as the console and `fota campaign status` both show it.
import { describe, expect, it } from 'vitest';
import { stageLabel, stageStateWords } from '../../src/campaigns/labels.ts';

describe('stage labels', () => {
  it('say what holds for a paused or aborted campaign, which leaves its stages as they were', () => {
    expect(stageLabel({ state: 'paused', currentStage: 1 }, { index: 1, state: 'running' })).toBe('paused');
    expect(stageLabel({ state: 'paused', currentStage: 1 }, { index: 2, state: 'pending' })).toBe('pending');
    expect(stageLabel({ state: 'aborted', currentStage: 0 }, { index: 2, state: 'pending' })).toBe('aborted');
    expect(stageLabel({ state: 'aborted', currentStage: 1 }, { index: 0, state: 'done' })).toBe('done');
    expect(stageLabel({ state: 'running', currentStage: 0 }, { index: 0, state: 'awaitingApproval' })).toBe('awaiting approval');
    expect(stageStateWords('awaitingApproval')).toBe('awaiting approval');
  });
});
