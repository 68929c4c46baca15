// What the DM path derives again and again for the same inputs within a session (a
// device's password, unsealed; a challenge nonce, an HMAC), kept for the next message:
// a session's three messages otherwise open the same sealed password three times and
// derive its challenge twice (bench/dm.ts). Bounded, least recently used out first.
// Only pure functions of the key are kept, so nothing here can go stale: a new password
// is a new sealed value, a new master key a new vault (or key bytes) in the key.

/** A map of at most `limit` entries; a hit moves its entry to the end, the oldest goes first. */
export class Recent<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly limit: number) {}

  /** The value under `key`, computed and kept if absent. */
  get(key: string, compute: () => V): V {
    const found = this.entries.get(key);
    if (found !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, found);
      return found;
    }
    const value = compute();
    this.entries.set(key, value);
    if (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value as string);
    return value;
  }

  get size(): number {
    return this.entries.size;
  }
}
