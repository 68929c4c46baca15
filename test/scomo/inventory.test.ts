// The application inventory a device reports is hostile input: listings, node names, ids
// and versions are bounded and checked before the baseline reasons about them.
import { describe, expect, it } from 'vitest';
import { componentsOf, MAX_COMPONENTS, mergeInventory, parseListing, unreadNodes } from '../../src/scomo/inventory.ts';

const ROOT = './SCOMO/Inventory/Deployed';

describe('parseListing', () => {
  it('keeps safe node names once each, drops path tricks and markup', () => {
    expect(parseListing('maps/chat/../x y/<b>/chat/./ok-1_2.3')).toEqual({ nodes: ['maps', 'chat', 'ok-1_2.3'], dropped: 5 });
  });

  it('reads at most MAX_COMPONENTS nodes and nothing of an oversized listing', () => {
    const many = Array.from({ length: 500 }, (_, i) => `n${i}`).join('/');
    expect(parseListing(many).nodes).toHaveLength(MAX_COMPONENTS);
    expect(parseListing('a/'.repeat(40_000)).nodes).toEqual([]);
  });
});

describe('mergeInventory', () => {
  it('starts over at a listing, fills leaves, and treats a refused listing as nothing deployed', () => {
    const listed = mergeInventory(undefined, { [ROOT]: 'maps/chat' }, [], 10);
    expect(listed && unreadNodes(listed)).toEqual(['maps', 'chat']);
    const filled = mergeInventory(listed, { [`${ROOT}/maps/ID`]: 'com.acme.maps', [`${ROOT}/maps/Version`]: '2.0', [`${ROOT}/maps/State`]: 'inactive', [`${ROOT}/chat/ID`]: 'com.acme.chat', [`${ROOT}/chat/Version`]: '1.0' }, [], 11);
    expect(filled && componentsOf(filled).components).toEqual([
      { node: 'maps', component: 'com.acme.maps', version: '2.0', state: 'inactive' },
      { node: 'chat', component: 'com.acme.chat', version: '1.0', state: 'active' },
    ]);
    expect(mergeInventory(filled, {}, [ROOT], 12)).toEqual({ nodes: [], readAt: 12 });
    expect(mergeInventory(filled, { './DevDetail/FwV': '1' }, [], 12)).toBeUndefined();
  });

  it('drops a component whose ID or Version the device refuses to give', () => {
    const listed = mergeInventory(undefined, { [ROOT]: 'maps/chat' }, [], 1);
    const merged = mergeInventory(listed, { [`${ROOT}/chat/ID`]: 'com.acme.chat', [`${ROOT}/chat/Version`]: '1' }, [`${ROOT}/maps/Version`], 2);
    expect(merged && unreadNodes(merged)).toEqual([]);
    expect(merged && componentsOf(merged).components.map((c) => c.component)).toEqual(['com.acme.chat']);
  });
});

describe('componentsOf', () => {
  it('leaves out hostile ids and versions, duplicates, and bounds names', () => {
    const record = {
      readAt: 1,
      nodes: [
        { node: 'a', component: '<script>alert(1)</script>', version: '1' },
        { node: 'b', component: 'com.ok', version: "1'; DROP TABLE devices;--" },
        { node: 'c', component: 'com.ok', version: '1.0', name: 'x'.repeat(5000) },
        { node: 'd', component: 'com.ok', version: '2.0' },
        { node: 'e', component: 'x'.repeat(500), version: '1' },
      ],
    };
    const { components, rejected } = componentsOf(record);
    expect(components).toEqual([{ node: 'c', component: 'com.ok', version: '1.0', state: 'active', name: 'x'.repeat(5000) }]);
    expect(rejected).toBe(4);
  });
});
