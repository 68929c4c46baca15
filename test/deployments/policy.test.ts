import { describe, expect, it } from 'vitest';
import { choosePackage, outcomeOfResult } from '../../src/deployments/policy.ts';

const packages = [
  { id: 'full', kind: 'full' as const, fromVersion: null },
  { id: 'from-1.0', kind: 'bsdiff40' as const, fromVersion: '1.0' },
  { id: 'from-1.1', kind: 'bsdiff40' as const, fromVersion: '1.1' },
];

describe('choosePackage', () => {
  it.each([
    ['1.0', { packageId: 'from-1.0' }],
    ['1.1', { packageId: 'from-1.1' }],
    ['0.9', { packageId: 'full' }],
    [null, { packageId: 'full' }],
    ['2.0', { none: 'already-current' }],
  ])('a device on %s gets %j', (version, expected) => {
    expect(choosePackage(packages, version, '2.0')).toEqual(expected);
  });

  it('has nothing to offer without a full package or matching delta', () => {
    expect(choosePackage(packages.slice(1, 2), '0.9', '2.0')).toEqual({ none: 'no-package' });
  });
});

describe('outcomeOfResult', () => {
  it.each([
    [200, 1, { state: 'installing' }],
    [250, 1, { state: 'installing' }],
    [503, 1, { state: 'scheduled', retry: true }],
    [412, 2, { state: 'scheduled', retry: true }],
    [407, 2, { state: 'scheduled', retry: true }],
    [503, 3, { state: 'failed', resultCode: 503 }],
    [402, 1, { state: 'failed', resultCode: 402 }],
    [403, 1, { state: 'failed', resultCode: 403 }],
    [410, 1, { state: 'failed', resultCode: 410 }],
    [501, 1, { state: 'failed', resultCode: 501 }],
  ])('FUMO %d on attempt %d of 3 -> %j', (code, attempt, expected) => {
    expect(outcomeOfResult(code, attempt, 3)).toEqual(expected);
  });
});
