// How a model's devices stand against its baseline: the classes of one device as a table,
// then counts and the devices of a class over a real store, read in chunks smaller than
// the fleet so chunk and page boundaries are crossed.
import { describe, expect, it } from 'vitest';
import { classify, complianceCounts, devicesInClass } from '../../src/scomo/compliance.ts';
import type { InventoryRecord } from '../../src/scomo/inventory.ts';
import { saveDeviceApps } from '../../src/store/queries/scomo.ts';
import { createTestApi } from '../support/api.ts';
import { pseudoRandom } from '../support/harness.ts';

const baseline = { apps: [{ component: 'maps', version: '2.0' }, { component: 'chat', version: '1.0' }], forbidden: ['adware'] };
const c = (component: string, version: string, state: 'active' | 'inactive' = 'active') => ({ node: `n-${component}`, component, version, state });

describe('classify', () => {
  it.each([
    ['never read', undefined, ['unread']],
    ['nothing installed', [], ['missing']],
    ['matching, other apps left alone', [c('maps', '2.0'), c('chat', '1.0'), c('notes', '5')], ['compliant']],
    ['outdated (newer counts too: the baseline is the truth)', [c('maps', '3.0'), c('chat', '1.0')], ['outdated']],
    ['inactive', [c('maps', '2.0', 'inactive'), c('chat', '1.0')], ['inactive']],
    ['a forbidden app, even inactive', [c('maps', '2.0'), c('chat', '1.0'), c('adware', '0.1', 'inactive')], ['forbidden']],
    ['several problems at once, in a fixed order', [c('adware', '0.1'), c('maps', '1.0')], ['missing', 'outdated', 'forbidden']],
  ] as const)('%s', (_name, installed, expected) => {
    expect(classify(baseline, installed === undefined ? undefined : [...installed])).toEqual(expected);
  });

  it('an empty baseline finds every device that reported compliant', () => {
    expect(classify({ apps: [], forbidden: [] }, [c('anything', '1')])).toEqual(['compliant']);
  });
});

describe('counting a model against its baseline', () => {
  it('counts every device once per class and pages through a class, across chunk boundaries', async () => {
    const api = await createTestApi();
    const model = 'cmp-m';
    for (const [component, version] of [['maps', '2.0'], ['chat', '1.0']] as const) {
      const res = await api.request(`/api/v1/apps?model=${model}&component=${component}&version=${version}`, { method: 'POST', token: api.tokens.acme, body: pseudoRandom(500, component), headers: { 'content-type': 'application/octet-stream' } });
      expect(res.status, await res.clone().text()).toBe(201);
    }
    expect((await api.request(`/api/v1/baselines/${model}`, { method: 'PUT', token: api.tokens.operator, json: baseline })).status).toBe(200);
    // 11 devices: 0-4 compliant, 5-8 outdated maps, 9 never read, 10 with adware and no chat.
    const inventories: Array<Array<ReturnType<typeof c>> | undefined> = [
      ...Array.from({ length: 5 }, () => [c('maps', '2.0'), c('chat', '1.0')]),
      ...Array.from({ length: 4 }, () => [c('maps', '1.0'), c('chat', '1.0')]),
      undefined,
      [c('maps', '2.0'), c('adware', '0.1')],
    ];
    const now = Date.now();
    for (const [n, installed] of inventories.entries()) {
      const id = `cmp-${String(n).padStart(2, '0')}`;
      const res = await api.request('/api/v1/devices', { method: 'POST', token: api.tokens.operator, json: { id, model, credentials: { username: id, password: 'device-password' } } });
      expect(res.status).toBe(201);
      if (!installed) continue;
      const record: InventoryRecord = { nodes: installed.map((x) => ({ node: x.node, component: x.component, version: x.version, state: x.state })), readAt: now };
      await api.ctx.db.transaction((tx) => saveDeviceApps(tx, { deviceId: id, components: JSON.stringify(record), readAt: now }));
    }
    // Another model's devices are not counted.
    expect((await api.request('/api/v1/devices', { method: 'POST', token: api.tokens.operator, json: { id: 'other-1', model: 'other-m', credentials: { username: 'other-1', password: 'device-password' } } })).status).toBe(201);

    const expected = { total: 11, compliant: 5, missing: 1, outdated: 4, inactive: 0, forbidden: 1, unread: 1 };
    expect(await complianceCounts(api.ctx, model, 3)).toEqual(expected);
    expect(await complianceCounts(api.ctx, model)).toEqual(expected);

    const walk = async (cls: 'compliant' | 'outdated', limit: number) => {
      const seen: string[] = [];
      let after: string | undefined;
      for (let page = 0; page < 20; page++) {
        const found = await devicesInClass(api.ctx, model, cls, after, limit, 2);
        expect(found.devices.length).toBeLessThanOrEqual(limit);
        seen.push(...found.devices.map((d) => d.id));
        if (found.next === null) return seen;
        after = found.next;
      }
      throw new Error('no last page');
    };
    expect(await walk('compliant', 2)).toEqual(['cmp-00', 'cmp-01', 'cmp-02', 'cmp-03', 'cmp-04']);
    expect(await walk('outdated', 4)).toEqual(['cmp-05', 'cmp-06', 'cmp-07', 'cmp-08']);
    const [forbidden] = (await devicesInClass(api.ctx, model, 'forbidden', undefined, 10)).devices;
    expect(forbidden).toMatchObject({ id: 'cmp-10', classes: ['missing', 'forbidden'], readAt: new Date(now).toISOString() });
    await expect(complianceCounts(api.ctx, 'other-m')).rejects.toThrow('model other-m has no baseline');
  });
});
