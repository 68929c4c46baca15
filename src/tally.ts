// Counts this process keeps for /metrics where the work happens (DM sessions, FUMO
// results, bytes served), as plain numbers: the code that counts does not know
// Prometheus, and counting costs an addition, never a query. metrics.ts reads them at
// each scrape.
import { FumoResult } from './omadm/fumo-results.ts';

const KNOWN_RESULTS: ReadonlySet<number> = new Set(Object.values(FumoResult));

export class Tally {
  /** DM sessions this process began (the first message of each, after authentication). */
  dmSessions = 0;
  /** Package bytes /dl sent (each response's bytes, once it is over). */
  downloadBytes = 0;
  /** The part of downloadBytes the kernel sent from the file itself (sendfile). */
  sendfileBytes = 0;
  /** FUMO results devices reported, by code; vendors' and unknown codes count as "other". */
  readonly results = new Map<string, number>();

  result(code: number): void {
    // A device chooses the number: an unknown one must not become a new series each time.
    const label = KNOWN_RESULTS.has(code) ? String(code) : 'other';
    this.results.set(label, (this.results.get(label) ?? 0) + 1);
  }
}
