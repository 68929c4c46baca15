// The context's one signal port (CONVENTIONS 6): a request or a lower layer says what
// happened (jobs queued, a campaign moved, a device was seen) and the background workers
// that care listen. Listeners are subscribed once, where the server is wired (start.ts);
// nothing overwrites a context field at run time, and there is no module-level state.
// Emitting is synchronous and cheap: a listener that has real work to do schedules it.

export type Signal =
  /** Package jobs were queued: the job runner looks for work now instead of at its next poll. */
  | { kind: 'jobs-queued' }
  /** A deployment of the campaign moved, or an operator acted on it: its engine looks again. */
  | { kind: 'campaign-moved'; campaignId: string }
  /** A device completed an authenticated DM message (it may now match a dynamic cohort). */
  | { kind: 'device-seen'; deviceId: string };

export type SignalKind = Signal['kind'];
export type SignalOf<K extends SignalKind> = Extract<Signal, { kind: K }>;

export interface Signals {
  /** Tells every listener of the signal's kind; never throws (a listener's error is reported). */
  emit(signal: Signal): void;
  /** Listens to one kind; returns the call that stops listening. */
  on<K extends SignalKind>(kind: K, listener: (signal: SignalOf<K>) => void): () => void;
}

/**
 * A listener that throws must not break the emitter, the other listeners or the request
 * that emitted: its error goes to `onError` (the context logs it) and the rest carry on.
 */
export function createSignals(onError: (err: unknown, signal: Signal) => void): Signals {
  const listeners = new Map<SignalKind, Set<(signal: Signal) => void>>();
  return {
    emit(signal) {
      // A copy: a listener that unsubscribes (or subscribes) while called changes the next emit, not this one.
      for (const listener of [...(listeners.get(signal.kind) ?? [])]) {
        try {
          listener(signal);
        } catch (err) {
          onError(err, signal);
        }
      }
    },
    on(kind, listener) {
      // Each listener gets its own wrapper, so subscribing the same function twice means two subscriptions.
      const wrapped = (signal: Signal) => {
        if (signal.kind === kind) listener(signal as SignalOf<typeof kind>);
      };
      let set = listeners.get(kind);
      if (!set) listeners.set(kind, (set = new Set()));
      set.add(wrapped);
      return () => {
        set.delete(wrapped);
      };
    },
  };
}
