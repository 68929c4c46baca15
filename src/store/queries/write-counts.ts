// Writes made through each transaction (the `tx` passed down), counted per topic, so a read
// kept for the rest of a DM message's transaction (deployments/active.ts, footing.ts) knows
// when it may be stale: it is used only while its topic saw no write since it was read.
// Each query function that writes a topic's tables counts, whichever row it touched.
import type { Tx } from '../store.ts';

export type WriteTopic = 'deployments' | 'scomo' | 'profileApplications' | 'operations';

const counts = new WeakMap<Tx, Record<WriteTopic, number>>();

export function countWrite(tx: Tx, topic: WriteTopic): void {
  let byTopic = counts.get(tx);
  if (!byTopic) counts.set(tx, (byTopic = { deployments: 0, scomo: 0, profileApplications: 0, operations: 0 }));
  byTopic[topic] += 1;
}

/** How many writes of the topic this transaction has made so far. */
export function writesOf(tx: Tx, topic: WriteTopic): number {
  return counts.get(tx)?.[topic] ?? 0;
}
