// Holding a lease on a unit of periodic work (queries/leases.ts) from a timer: the work
// runs in the one process holding the lease, renewed as it runs; when that process dies,
// another takes the lease over once it expires. With one process (the embedded default)
// it always holds its leases, so nothing changes there.
import { claimLease, releaseLease } from './queries/leases.ts';
import type { Store } from './store.ts';

export interface Lease {
  /** Whether this process holds the lease now; asks the database at most every third of its time. */
  held(): Promise<boolean>;
  /** Gives it back (a clean stop), so another process need not wait for it to expire. */
  release(): Promise<void>;
}

/**
 * `ttlMs` is how long a dead holder keeps the work from the others. The holder renews
 * when a third of it has passed, so it never acts on a lease about to lapse; clocks of the
 * processes must agree to well within a third of it.
 */
export function lease(store: Store, clock: { now(): number }, name: string, holder: string, ttlMs: number): Lease {
  let held = false;
  let askAt = Number.NEGATIVE_INFINITY;
  let asking: Promise<boolean> | undefined;
  return {
    held() {
      const now = clock.now();
      if (now < askAt) return Promise.resolve(held);
      asking ??= store
        .transaction((tx) => claimLease(tx, name, holder, now, ttlMs))
        .then((claimed) => {
          held = claimed;
          askAt = now + ttlMs / 3;
          return claimed;
        })
        .finally(() => {
          asking = undefined;
        });
      return asking;
    },
    async release() {
      if (!held) return;
      held = false;
      askAt = Number.NEGATIVE_INFINITY;
      await store.transaction((tx) => releaseLease(tx, name, holder));
    },
  };
}
