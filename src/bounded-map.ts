// The one bounded map of the process's caches (checked download links, package rows,
// prepared statements, DM passwords and challenges, lockout addresses): a cache that
// only grows is a leak a flood of distinct keys can drive, so each is capped, and a full
// map drops its oldest entry. Map iteration is insertion order, so "oldest" is the first
// key; `use` and `kept` move a hit to the end, making the order least recently used.
//
// The oldest key comes from one iterator kept from one eviction to the next. A new
// iterator starts at the first slot of V8's hash table, and every entry deleted since the
// table was last compacted stays there as a hole until it is: each eviction of a full
// 4096-entry map skipped some 2,000 holes (3-8 µs, on every DM session that missed,
// bench/dm.ts). A Map iterator stays valid while the map changes: it skips what was
// deleted and reaches what was added since, in insertion order. Every entry before it was
// evicted through it, so what it yields next is the oldest entry still in the map.

export class BoundedMap<K, V> extends Map<K, V> {
  private oldest: MapIterator<K> | undefined;

  constructor(readonly capacity: number) {
    super();
  }

  /** Sets `key`; a new key in a full map first drops the oldest entry. */
  override set(key: K, value: V): this {
    if (this.size >= this.capacity && !this.has(key)) {
      let next = this.oldest?.next();
      // A finished iterator stays finished, whatever is added after: a new one then.
      if (next === undefined || next.done) {
        this.oldest = this.keys();
        next = this.oldest.next();
      }
      if (!next.done) this.delete(next.value);
    }
    return super.set(key, value);
  }

  /** The value under `key`, moved to the newest place (least recently used goes first). */
  use(key: K): V | undefined {
    const found = this.get(key);
    if (found !== undefined) {
      this.delete(key);
      super.set(key, found);
    }
    return found;
  }

  /** The value under `key`, computed and kept if absent (a pure function of the key: nothing kept goes stale). */
  kept(key: K, compute: () => V): V {
    const found = this.use(key);
    if (found !== undefined) return found;
    const value = compute();
    this.set(key, value);
    return value;
  }
}
