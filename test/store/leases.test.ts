// Leases on periodic work, on both stores: one holder at a time, renewal by the holder,
// takeover once a lease expires, an early release, and many processes racing for one.
import { beforeAll, describe, expect, it } from 'vitest';
import { lease } from '../../src/store/lease.ts';
import { claimLease, leasesHeld, releaseLease } from '../../src/store/queries/leases.ts';
import type { Store } from '../../src/store/store.ts';
import { openTestStore } from '../support/store.ts';

describe('leases', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openTestStore();
  });
  // Writes go through a transaction, as the server's do (SQLite reads outside one are read-only).
  const claim = (name: string, holder: string, now: number, ttlMs: number) => store.transaction((tx) => claimLease(tx, name, holder, now, ttlMs));
  const release = (name: string, holder: string) => store.transaction((tx) => releaseLease(tx, name, holder));

  it('belong to one holder until they expire, and the holder renews its own', async () => {
    expect(await claim('tick', 'a', 1000, 500)).toBe(true);
    expect(await claim('tick', 'b', 1200, 500)).toBe(false);
    expect(await claim('tick', 'a', 1400, 500)).toBe(true); // renewed until 1900
    expect(await claim('tick', 'b', 1800, 500)).toBe(false);
    expect(await claim('tick', 'b', 1901, 500)).toBe(true); // a stopped renewing
    expect(await claim('tick', 'a', 2000, 500)).toBe(false);
    expect(await leasesHeld(store, 2000)).toEqual([{ name: 'tick', holder: 'b', until: 2401 }]);
  });

  it('are free for another holder at once when given back', async () => {
    expect(await claim('sweep', 'a', 0, 60_000)).toBe(true);
    await release('sweep', 'b'); // not b's to give
    expect(await claim('sweep', 'b', 1, 60_000)).toBe(false);
    await release('sweep', 'a');
    expect(await claim('sweep', 'b', 2, 60_000)).toBe(true);
  });

  it('go to exactly one of many holders claiming at the same moment', async () => {
    const holders = Array.from({ length: 20 }, (_, i) => `p${i}`);
    const won = await Promise.all(holders.map((holder) => store.transaction((tx) => claimLease(tx, 'race', holder, 5000, 1000))));
    expect(won.filter(Boolean)).toHaveLength(1);
  });
});

describe('a lease held from a timer', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openTestStore();
  });

  it('keeps the work in one process, renews it there, and lets another take over once the holder stops renewing', async () => {
    const clock = { now: () => 0 };
    const a = lease(store, clock, 'work', 'a', 9000);
    const b = lease(store, clock, 'work', 'b', 9000);
    expect(await a.held()).toBe(true);
    expect(await b.held()).toBe(false);
    clock.now = () => 6000; // a renews after a third of the time; b asks again and is refused
    expect(await a.held()).toBe(true);
    expect(await b.held()).toBe(false);
    clock.now = () => 6000 + 9001; // a went quiet (died): its lease lapsed
    expect(await b.held()).toBe(true);
    expect(await a.held()).toBe(false);
  });

  it('is free at once for another process after a clean release', async () => {
    const clock = { now: () => 100 };
    const a = lease(store, clock, 'released', 'a', 60_000);
    const b = lease(store, clock, 'released', 'b', 60_000);
    expect(await a.held()).toBe(true);
    await a.release();
    expect(await b.held()).toBe(true);
  });
});
