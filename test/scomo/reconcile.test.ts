// The baseline rule as a table: what a device must do to match.
import { describe, expect, it } from 'vitest';
import { driftOf, sameChange } from '../../src/scomo/reconcile.ts';

const baseline = { apps: [{ component: 'maps', version: '2.0' }, { component: 'chat', version: '1.0' }], forbidden: ['adware'] };
const c = (component: string, version: string, state: 'active' | 'inactive' = 'active') => ({ node: `n-${component}`, component, version, state });

describe('driftOf', () => {
  it.each([
    ['nothing installed', [], [{ operation: 'install', component: 'maps', version: '2.0' }, { operation: 'install', component: 'chat', version: '1.0' }]],
    ['outdated and forbidden', [c('maps', '1.0'), c('chat', '1.0'), c('adware', '0.1')], [{ operation: 'install', component: 'maps', version: '2.0' }, { operation: 'remove', component: 'adware', node: 'n-adware' }]],
    ['newer than the baseline is a difference too', [c('maps', '3.0'), c('chat', '1.0')], [{ operation: 'install', component: 'maps', version: '2.0' }]],
    ['inactive is activated', [c('maps', '2.0', 'inactive'), c('chat', '1.0')], [{ operation: 'activate', component: 'maps', node: 'n-maps' }]],
    ['matching, with other apps left alone', [c('maps', '2.0'), c('chat', '1.0'), c('notes', '5')], []],
  ] as const)('%s', (_name, installed, expected) => {
    expect(driftOf(baseline, [...installed])).toEqual(expected);
  });
});

describe('sameChange', () => {
  it('an install is the same change only for the same version', () => {
    expect(sameChange({ operation: 'install', component: 'maps', version: '2.0' }, { operation: 'install', component: 'maps', targetVersion: '2.0' })).toBe(true);
    expect(sameChange({ operation: 'install', component: 'maps', version: '2.1' }, { operation: 'install', component: 'maps', targetVersion: '2.0' })).toBe(false);
    expect(sameChange({ operation: 'remove', component: 'adware' }, { operation: 'remove', component: 'adware', targetVersion: null })).toBe(true);
  });
});
