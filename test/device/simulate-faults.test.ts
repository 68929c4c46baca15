// The `--faults` spec of fota simulate and how faults are dealt to a fleet: exact counts
// by share, the same devices on every run, at most one fault per device, and clear
// refusals of specs that mean nothing.
import { describe, expect, it } from 'vitest';
import { FaultInjector } from '../../src/device/faults.ts';
import { assignFaults, faultOptions, parseFaults } from '../../src/device/simulate/faults.ts';
import { deviceIds } from '../../src/device/simulate/fleet.ts';

describe('fault spec', () => {
  it('reads shares as fractions or percentages, and slow links with a rate', () => {
    expect(parseFaults('cut=0.1, corrupt=2%,wrong-base=.02,install=0.03,oom=0.01,oom-download=1%,slow=0.05:65536')).toEqual([
      { kind: 'cut', share: 0.1 },
      { kind: 'corrupt', share: 0.02 },
      { kind: 'wrong-base', share: 0.02 },
      { kind: 'install', share: 0.03 },
      { kind: 'oom', share: 0.01 },
      { kind: 'oom-download', share: 0.01 },
      { kind: 'slow', share: 0.05, bytesPerSecond: 65536 },
    ]);
    expect(parseFaults('slow=1')).toEqual([{ kind: 'slow', share: 1, bytesPerSecond: 65536 }]);
    expect(parseFaults('slow=0.5:64k')).toEqual([{ kind: 'slow', share: 0.5, bytesPerSecond: 65536 }]);
    expect(parseFaults('slow=0.5:1.5m')).toEqual([{ kind: 'slow', share: 0.5, bytesPerSecond: 1572864 }]);
  });

  it.each([
    ['', 'is empty'],
    ['cut', 'is not FAULT=SHARE'],
    ['cut=', 'is not FAULT=SHARE'],
    ['flood=0.1', 'unknown fault "flood" (known: cut, corrupt, wrong-base, install, oom, oom-download, slow, app-download, app-install, app-remove, refuse-writes, drop-after-writes, lose-rotation-status)'],
    ['cut=0', 'share "0" must be a number in (0, 1]'],
    ['cut=1.5', 'share "1.5" must be'],
    ['cut=150%', 'share "150%" must be'],
    ['cut=-0.1', 'share "-0.1" must be'],
    ['cut=abc', 'share "abc" must be'],
    ['cut=0.1,cut=0.2', 'cut is given twice'],
    ['cut=0.6,install=0.5', 'the shares add up to 1.1'],
    ['install=0.1:410', 'install takes no parameter'],
    ['slow=0.1:fast', 'slow: "fast" must be bytes per second >= 4096'],
    ['slow=0.1:100', 'slow: "100" must be bytes per second >= 4096'],
  ])('refuses %j: %s', (spec, message) => {
    expect(() => parseFaults(spec)).toThrow(message);
  });
});

describe('dealing faults', () => {
  const ids = deviceIds('sim-', 1000);

  it('gives each fault round(share x devices) devices, each device at most one fault', () => {
    const assigned = assignFaults(ids, parseFaults('cut=0.1,corrupt=0.025,install=0.0004,slow=0.3'));
    const count = (kind: string) => [...assigned.values()].filter((f) => f.kind === kind).length;
    expect([count('cut'), count('corrupt'), count('install'), count('slow')]).toEqual([100, 25, 0, 300]);
    expect(assigned.size).toBe(425);
  });

  it('deals the same faults to the same devices on every run, spread over the ids', () => {
    const faults = parseFaults('cut=0.1,corrupt=0.1');
    const first = assignFaults(ids, faults);
    expect([...assignFaults([...ids].reverse(), faults)].sort()).toEqual([...first].sort());
    const cut = ids.filter((id) => first.get(id)?.kind === 'cut');
    // Not the first hundred ids: a hash decides, not the order.
    expect(cut.some((id) => id > 'sim-0500')).toBe(true);
    expect(cut.some((id) => id < 'sim-0500')).toBe(true);
  });

  it('never deals more devices than there are', () => {
    expect(assignFaults(['a', 'b', 'c'], parseFaults('cut=0.5,install=0.5')).size).toBe(3);
  });

  it('turns each fault into agent options (failing codes, download faults, a slow link)', () => {
    expect(faultOptions('d', { kind: 'install', share: 1 })).toEqual({ failures: { install: 410 } });
    expect(faultOptions('d', { kind: 'oom', share: 1 })).toEqual({ failures: { install: 502 } });
    expect(faultOptions('d', { kind: 'oom-download', share: 1 })).toEqual({ failures: { download: 501 } });
    expect(faultOptions('d', { kind: 'slow', share: 1, bytesPerSecond: 8192 })).toEqual({ download: { bytesPerSecond: 8192 } });
    expect(faultOptions('d', { kind: 'drop-after-writes', share: 1 })).toEqual({ failures: { dropAfterWrites: Number.POSITIVE_INFINITY } });
    expect(faultOptions('d', { kind: 'lose-rotation-status', share: 1 })).toEqual({ failures: { loseRotationStatus: true } });
    expect(faultOptions('d', { kind: 'cut', share: 1 }).download?.faults?.cutAtFraction).toEqual([expect.any(Number)]);
    expect(faultOptions('d', { kind: 'corrupt', share: 1 }).download?.faults?.corruptAtFraction).toEqual([{ fraction: expect.any(Number), times: Number.POSITIVE_INFINITY }]);
    expect(faultOptions('d', undefined)).toEqual({});
  });
});

describe('faults aimed by fraction', () => {
  it('are placed in the payload still to come once the downloader knows it, and only once', () => {
    const injector = new FaultInjector({ cutAtFraction: [0.5], corruptAtFraction: [{ fraction: 0, times: 2 }] });
    // Before placement nothing happens.
    expect(injector.deliver(0, Buffer.alloc(100))).toEqual({ piece: Buffer.alloc(100), cut: false });
    injector.place(1000, 2000);
    injector.place(0, 10); // a later package: nothing more is placed
    const first = injector.deliver(1000, Buffer.alloc(1000));
    expect(first.cut).toBe(true);
    expect(first.piece.length).toBe(500);
    expect(first.piece[0]).toBe(0xff);
    expect(injector.deliver(1000, Buffer.alloc(10)).piece[0]).toBe(0xff);
    expect(injector.deliver(1000, Buffer.alloc(10)).piece[0]).toBe(0); // `times` used up
    expect(injector.deliver(0, Buffer.alloc(10))).toEqual({ piece: Buffer.alloc(10), cut: false });
  });

  it('places nothing when the whole payload came with the first request', () => {
    const injector = new FaultInjector({ cutAtFraction: [0.5] });
    injector.place(3000, 3000);
    expect(injector.deliver(0, Buffer.alloc(4000)).cut).toBe(false);
  });
});
