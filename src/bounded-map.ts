// The one bounded map of the process's caches (checked download links, package rows,
// prepared statements, DM passwords and challenges, lockout addresses): a cache that
// only grows is a leak a flood of distinct keys can drive, so each is capped, and a full
// map drops its oldest entry. Map iteration is insertion order, so "oldest" is the first
// key; `use` and `kept` move a hit to the end, making the order least recently used.

export class BoundedMap<K, V> extends Map<K, V> {
  constructor(readonly capacity: number) {
    super();
  }

  /** Sets `key`; a new key in a full map first drops the oldest entry. */
  override set(key: K, value: V): this {
    if (this.size >= this.capacity && !this.has(key)) {
      const oldest = this.keys().next();
      if (!oldest.done) this.delete(oldest.value);
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
