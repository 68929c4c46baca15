// What happens to a profile application whose commands a lost session never answered
// (src/profiles/unanswered.ts) and how a re-provisioning sends a profile (reprovision.ts):
// the pure decisions. The flows are in test/e2e/reprovisioning.test.ts.
import { describe, expect, it } from 'vitest';
import { overriding } from '../../src/profiles/reprovision.ts';
import { lostDecision, MAX_ATTEMPTS, unanswered } from '../../src/profiles/unanswered.ts';

describe('unanswered profile commands', () => {
  it('counts a command still sent after its session, or failed by the idle sweep (408), as unanswered; a device Status is an answer', () => {
    expect(unanswered({ state: 'sent', statusCode: null })).toBe(true);
    expect(unanswered({ state: 'failed', statusCode: 408 })).toBe(true);
    expect(unanswered({ state: 'failed', statusCode: 425 })).toBe(false);
    expect(unanswered({ state: 'done', statusCode: 200 })).toBe(false);
    expect(unanswered({ state: 'queued', statusCode: null })).toBe(false);
  });

  it('sends Replaces and Gets again until the last attempt, then fails naming how many went unanswered', () => {
    const lost = [{ command: 'Replace', uri: './Vendor/A' }, { command: 'Get', uri: './Vendor/A' }];
    for (let attempts = 1; attempts < MAX_ATTEMPTS; attempts++) expect(lostDecision(attempts, lost)).toEqual({ kind: 'resend' });
    expect(lostDecision(MAX_ATTEMPTS, lost)).toEqual({ kind: 'fail', reason: expect.stringMatching(/never answered 2 of its commands after 3 attempts/) });
  });

  it('never repeats an Exec: it may have run', () => {
    expect(lostDecision(1, [{ command: 'Exec', uri: './Vendor/Reboot' }])).toEqual({ kind: 'fail', reason: expect.stringMatching(/Exec \.\/Vendor\/Reboot .* not repeated/) });
  });
});

describe('a re-provisioning', () => {
  it('sends an Add as a Replace (the node exists since the first provisioning) and every other operation as it is', () => {
    expect(overriding({ command: 'Add', uri: './Vendor/A', data: 'true', format: 'bool' })).toEqual({ command: 'Replace', uri: './Vendor/A', data: 'true', format: 'bool' });
    expect(overriding({ command: 'Delete', uri: './Vendor/B' })).toEqual({ command: 'Delete', uri: './Vendor/B' });
    expect(overriding({ command: 'Exec', uri: './Vendor/C' })).toEqual({ command: 'Exec', uri: './Vendor/C' });
  });
});
