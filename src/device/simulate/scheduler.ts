// Who of the simulated fleet talks to the server now. Devices wake up (their poll timer,
// or a Package 0) and wait in line; at most `concurrency` run at once. A device that
// wakes while it waits stays in its place (a Package 0 upgrades a poll to a
// server-initiated session); one that wakes while it runs goes again right after, since
// the server may have scheduled something after that session looked.
export class SessionScheduler<Item, Trigger> {
  private readonly line: Item[] = [];
  /** Items in line, with the Package 0 that woke them, if one did. */
  private readonly waiting = new Map<Item, Trigger | undefined>();
  private readonly running = new Set<Item>();
  private readonly again = new Map<Item, Trigger | undefined>();
  private readonly settled = new Set<() => void>();
  private bounded = 0;
  private stopped = false;

  constructor(
    readonly concurrency: number,
    private readonly run: (item: Item, trigger: Trigger | undefined) => Promise<void>,
    /** Items that take no slot while they run (a device on a slow link would hold one for minutes doing nothing). */
    private readonly unbounded: (item: Item) => boolean = () => false,
  ) {
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a whole number >= 1, got ${concurrency}`);
  }

  wake(item: Item, trigger?: Trigger): void {
    if (this.stopped) return;
    if (this.running.has(item)) {
      this.again.set(item, trigger ?? this.again.get(item));
      return;
    }
    if (this.waiting.has(item)) {
      if (trigger !== undefined) this.waiting.set(item, trigger);
      return;
    }
    this.waiting.set(item, trigger);
    if (this.unbounded(item)) return this.start(item, false);
    this.line.push(item);
    this.pump();
  }

  isWaiting(item: Item): boolean {
    return this.waiting.has(item);
  }

  isRunning(item: Item): boolean {
    return this.running.has(item);
  }

  get active(): number {
    return this.running.size;
  }

  /** Nobody new starts; resolves when everyone running has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.line.length = 0;
    this.waiting.clear();
    this.again.clear();
    while (this.running.size > 0) await new Promise<void>((resolve) => this.settled.add(resolve));
  }

  private pump(): void {
    while (this.bounded < this.concurrency && this.line.length > 0) {
      const item = this.line.shift();
      if (item !== undefined) this.start(item, true);
    }
  }

  private start(item: Item, bounded: boolean): void {
    const trigger = this.waiting.get(item);
    this.waiting.delete(item);
    this.running.add(item);
    if (bounded) this.bounded += 1;
    void this.run(item, trigger)
      .catch(() => undefined) // the runner reports its own failures
      .finally(() => {
        this.running.delete(item);
        if (bounded) this.bounded -= 1;
        for (const resolve of this.settled) resolve();
        this.settled.clear();
        if (this.again.has(item)) {
          const next = this.again.get(item);
          this.again.delete(item);
          this.wake(item, next);
        }
        this.pump();
      });
  }
}
