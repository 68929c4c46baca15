// The demo's verdict: it passes only when what happened is exactly what the faults predict.
import { describe, expect, it } from 'vitest';
import { configurationMismatches, enrollmentMismatches, faultWords, mismatches } from '../../src/cli/demo-outcome.ts';

const expected = { devices: 100, failuresByCode: { '410': 2, '402': 1 } };
const exact = { succeeded: 97, failed: 3, failuresByCode: { '410': 2, '402': 1 }, unfinished: 0, devicesOnTarget: 97 };

describe('demo outcome', () => {
  it('accepts exactly the injected outcome', () => {
    expect(mismatches(expected, exact)).toEqual([]);
  });

  it.each([
    ['a failure with another code', { ...exact, failuresByCode: { '410': 2, '403': 1 } }, ['0 failures with FUMO 402, expected 1', '1 failures with FUMO 403, expected 0']],
    ['one success too few', { ...exact, succeeded: 96, devicesOnTarget: 96, unfinished: 1 }, ['96 succeeded, expected 97', '96 devices run the target, expected 97', '1 deployments did not finish']],
    ['devices that say succeeded but do not run the target', { ...exact, devicesOnTarget: 95 }, ['95 devices run the target, expected 97']],
    ['a fault that did not fire', { ...exact, succeeded: 98, devicesOnTarget: 98, failed: 2, failuresByCode: { '410': 1, '402': 1 } }, ['98 succeeded, expected 97', '98 devices run the target, expected 97', '1 failures with FUMO 410, expected 2']],
  ])('refuses %s', (_name, seen, problems) => {
    expect(mismatches(expected, seen)).toEqual(problems);
  });
});

describe('the fault line', () => {
  it('shows small shares as they are, never "0%", with the devices that drew each fault', () => {
    const faults = [
      { kind: 'install', share: 0.01 },
      { kind: 'corrupt', share: 0.004 },
      { kind: 'wrong-base', share: 0.0004 },
      { kind: 'cut', share: 0.04 },
    ];
    const line = faultWords(faults, { install: 5, corrupt: 2, cut: 20 });
    expect(line).toBe('install 1% (5 devices), corrupt 0.4% (2 devices), wrong-base 0.04% (no device), cut 4% (20 devices)');
    expect(line).not.toMatch(/\b0%/);
    expect(faultWords([{ kind: 'oom', share: 0.002 }], { oom: 1 })).toBe('oom 0.2% (1 device)');
  });
});

describe('the enrollment verdict', () => {
  it('accepts a batch whose every device left the claim and whose claim is refused for all', () => {
    expect(enrollmentMismatches({ devices: 20, enrolled: 20, claimRefusedAfter: 20 })).toEqual([]);
  });

  it('refuses a device still on the claim, and a claim that still opens a session', () => {
    expect(enrollmentMismatches({ devices: 20, enrolled: 19, claimRefusedAfter: 19 })).toEqual(['19 of 20 batch devices enrolled', 'the claim was refused for 19 of 20 enrolled devices']);
    expect(enrollmentMismatches({ devices: 20, enrolled: 20, claimRefusedAfter: 18 })).toEqual(['the claim was refused for 18 of 20 enrolled devices']);
  });
});

describe('the configuration verdict', () => {
  const exact = { state: 'completed', devices: 60, succeeded: 57, failed: 3, byCode: { '425': 3 }, expectedByCode: { '425': 3 } };

  it('accepts a completed campaign where exactly the locked devices refused', () => {
    expect(configurationMismatches(exact)).toEqual([]);
  });

  it('refuses a campaign left paused, a refusal too many, and a failure with another Status', () => {
    expect(configurationMismatches({ ...exact, state: 'paused' })).toEqual(['the configuration campaign ended paused']);
    expect(configurationMismatches({ ...exact, succeeded: 56, failed: 4, byCode: { '425': 4 } })).toEqual(['56 devices took the configuration, expected 57', '4 configuration failures with Status 425, expected 3']);
    expect(configurationMismatches({ ...exact, byCode: { '425': 2, '500': 1 } })).toEqual(['2 configuration failures with Status 425, expected 3', '1 configuration failures with Status 500, expected 0']);
  });
});
