// The context's signal port: listeners hear only their kind, in the order they subscribed;
// unsubscribing stops them; a listener that throws is reported and breaks neither the
// emitter nor the listeners after it.
import { describe, expect, it } from 'vitest';
import { createSignals, type Signal } from '../src/signals.ts';

const failures = () => {
  const seen: Array<{ err: unknown; signal: Signal }> = [];
  return { seen, onError: (err: unknown, signal: Signal) => void seen.push({ err, signal }) };
};

describe('signals', () => {
  it('delivers a signal to every listener of its kind, in subscription order, and to no other', () => {
    const signals = createSignals(failures().onError);
    const heard: string[] = [];
    signals.on('campaign-moved', ({ campaignId }) => heard.push(`first ${campaignId}`));
    signals.on('campaign-moved', ({ campaignId }) => heard.push(`second ${campaignId}`));
    signals.on('device-seen', ({ deviceId }) => heard.push(`device ${deviceId}`));
    signals.on('jobs-queued', () => heard.push('jobs'));
    signals.emit({ kind: 'campaign-moved', campaignId: 'cmp_1' });
    expect(heard).toEqual(['first cmp_1', 'second cmp_1']);
    signals.emit({ kind: 'device-seen', deviceId: 'dev_1' });
    signals.emit({ kind: 'jobs-queued' });
    expect(heard).toEqual(['first cmp_1', 'second cmp_1', 'device dev_1', 'jobs']);
  });

  it('emits to nobody without listeners, and delivers synchronously (emit returns after the listeners ran)', () => {
    const signals = createSignals(failures().onError);
    expect(() => signals.emit({ kind: 'jobs-queued' })).not.toThrow();
    let ran = false;
    signals.on('jobs-queued', () => {
      ran = true;
    });
    signals.emit({ kind: 'jobs-queued' });
    expect(ran).toBe(true);
  });

  it('stops calling a listener once it unsubscribes, and only that one (the same function twice is two subscriptions)', () => {
    const signals = createSignals(failures().onError);
    const heard: string[] = [];
    const listener = ({ deviceId }: { deviceId: string }) => heard.push(deviceId);
    const offFirst = signals.on('device-seen', listener);
    signals.on('device-seen', listener);
    signals.emit({ kind: 'device-seen', deviceId: 'a' });
    offFirst();
    offFirst(); // twice is harmless
    signals.emit({ kind: 'device-seen', deviceId: 'b' });
    expect(heard).toEqual(['a', 'a', 'b']);
  });

  it('finishes the current emit as it began when a listener unsubscribes another during it', () => {
    const signals = createSignals(failures().onError);
    const heard: string[] = [];
    let offSecond = () => {};
    signals.on('jobs-queued', () => {
      heard.push('first');
      offSecond();
    });
    offSecond = signals.on('jobs-queued', () => heard.push('second'));
    signals.emit({ kind: 'jobs-queued' });
    signals.emit({ kind: 'jobs-queued' });
    expect(heard).toEqual(['first', 'second', 'first']);
  });

  it('reports a listener that throws with the signal, and still calls the listeners after it; emit does not throw', () => {
    const { seen, onError } = failures();
    const signals = createSignals(onError);
    const heard: string[] = [];
    signals.on('campaign-moved', () => {
      throw new Error('listener broke');
    });
    signals.on('campaign-moved', ({ campaignId }) => heard.push(campaignId));
    expect(() => signals.emit({ kind: 'campaign-moved', campaignId: 'cmp_2' })).not.toThrow();
    expect(heard).toEqual(['cmp_2']);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.signal).toEqual({ kind: 'campaign-moved', campaignId: 'cmp_2' });
    expect((seen[0]?.err as Error).message).toBe('listener broke');
    // The emitter keeps working for later signals.
    signals.emit({ kind: 'campaign-moved', campaignId: 'cmp_3' });
    expect(heard).toEqual(['cmp_2', 'cmp_3']);
    expect(seen).toHaveLength(2);
  });
});
