// Leases on periodic work, on both stores: one holder at a time, renewal by the holder,
// takeover once a lease expires, an early release, and many processes racing for one.
import { beforeAll, describe, expect, it } from 'vitest';
import { claimLease, leasesHeld, releaseLease } from '../../src/store/queries/leases.ts';
import type { Store } from '../../src/store/store.ts';
import { openTestStore } from '../support/store.ts';

describe('leases', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openTestStore();
  });

  it('belong to one holder until they expire, and the holder renews its own', async () => {
    expect(await claimLease(store, 'tick', 'a', 1000, 500)).toBe(true);
    expect(await claimLease(store, 'tick', 'b', 1200, 500)).toBe(false);
    expect(await claimLease(store, 'tick', 'a', 1400, 500)).toBe(true); // renewed until 1900
    expect(await claimLease(store, 'tick', 'b', 1800, 500)).toBe(false);
    expect(await claimLease(store, 'tick', 'b', 1901, 500)).toBe(true); // a stopped renewing
    expect(await claimLease(store, 'tick', 'a', 2000, 500)).toBe(false);
    expect(await leasesHeld(store, 2000)).toEqual([{ name: 'tick', holder: 'b', until: 2401 }]);
  });

  it('are free for another holder at once when given back', async () => {
    expect(await claimLease(store, 'sweep', 'a', 0, 60_000)).toBe(true);
    await releaseLease(store, 'sweep', 'b'); // not b's to give
    expect(await claimLease(store, 'sweep', 'b', 1, 60_000)).toBe(false);
    await releaseLease(store, 'sweep', 'a');
    expect(await claimLease(store, 'sweep', 'b', 2, 60_000)).toBe(true);
  });

  it('go to exactly one of many holders claiming at the same moment', async () => {
    const holders = Array.from({ length: 20 }, (_, i) => `p${i}`);
    const won = await Promise.all(holders.map((holder) => store.transaction((tx) => claimLease(tx, 'race', holder, 5000, 1000))));
    expect(won.filter(Boolean)).toHaveLength(1);
  });
});
