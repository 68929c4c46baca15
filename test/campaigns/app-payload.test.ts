// The application campaign's pure rules: which devices have nothing to do (left out at the
// start, like firmware devices already on the build) and the payload label operators read.
import { describe, expect, it } from 'vitest';
import { appPayloadLabel, nothingToDo } from '../../src/campaigns/app-payload.ts';
import type { InstalledComponent } from '../../src/scomo/schemas.ts';

const nav = (version: string, state: 'active' | 'inactive' = 'active'): InstalledComponent => ({ node: 'nav', component: 'com.acme.nav', version, state });
const campaign = (appOperation: 'install' | 'remove' | 'activate' | 'deactivate') => ({ appOperation, appComponent: 'com.acme.nav', appVersionId: appOperation === 'install' ? 'app_1' : null });

describe('nothingToDo', () => {
  it.each([
    ['install', '2.1', [nav('2.1')], true],
    ['install', '2.1', [nav('1.0')], false],
    ['install', '2.1', [], false],
    // Another component of the same version is not the target.
    ['install', '2.1', [{ ...nav('2.1'), component: 'com.acme.maps' }], false],
    ['remove', null, [nav('1.0')], false],
    ['remove', null, [], true],
    ['activate', null, [nav('1.0', 'inactive')], false],
    ['activate', null, [nav('1.0')], true],
    ['activate', null, [], true],
    ['deactivate', null, [nav('1.0')], false],
    ['deactivate', null, [nav('1.0', 'inactive')], true],
  ] as const)('%s to %s on %j: %s', (operation, target, components, expected) => {
    expect(nothingToDo(campaign(operation), target, [...components])).toBe(expected);
  });
});

describe('appPayloadLabel', () => {
  it('says app C@V for an install and the operation and component otherwise', () => {
    expect(appPayloadLabel({ appOperation: 'install', appComponent: 'com.acme.nav' }, '2.1')).toBe('app com.acme.nav@2.1');
    expect(appPayloadLabel({ appOperation: 'remove', appComponent: 'com.acme.nav' }, null)).toBe('remove com.acme.nav');
    expect(appPayloadLabel({ appOperation: 'deactivate', appComponent: 'com.acme.nav' }, null)).toBe('deactivate com.acme.nav');
  });
});
