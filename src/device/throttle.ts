// A slow link for the agent's downloads (the fleet simulator's "slow" fault, and tests):
// after each piece read from the socket the reader waits until that piece would have
// arrived at the given rate. Reading pauses meanwhile, so TCP back-pressure slows the
// server's sending too, as a real slow link would. Idle time between requests earns no
// credit: a burst after a pause is held to the rate like any other.
import { setTimeout as sleep } from 'node:timers/promises';

export class Throttle {
  /** When the link is free again (performance.now() milliseconds). */
  private freeAt = 0;

  constructor(readonly bytesPerSecond: number) {
    if (!(bytesPerSecond > 0)) throw new RangeError(`bytes per second must be positive, got ${bytesPerSecond}`);
  }

  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    const now = performance.now();
    this.freeAt = Math.max(this.freeAt, now) + (bytes * 1000) / this.bytesPerSecond;
    const wait = this.freeAt - now;
    if (wait >= 1) await sleep(wait, undefined, signal ? { signal } : {});
  }
}
