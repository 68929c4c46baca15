// Stage assignment: exact cumulative stage sizes, a stable stage per device and campaign,
// independent samples for different campaigns, a sample that does not follow the ids,
// and late joiners placed by their hash. The hash is deterministic, so are these tests.
import { describe, expect, it } from 'vitest';
import { assignStages, cumulativeSizes, stageBounds, stageByBounds, stageHash, stageOfLateJoiner } from '../../src/campaigns/assign.ts';

const ids = (n: number, prefix = 'dev-', width = 5): string[] => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(width, '0')}`);

/** How many devices each stage got. */
function stageSizes(stages: Uint8Array, stageCount: number): number[] {
  const sizes = new Array<number>(stageCount).fill(0);
  for (const s of stages) sizes[s] = (sizes[s] ?? 0) + 1;
  return sizes;
}

/** A deterministic Fisher-Yates shuffle (mulberry32), so the test never depends on Math.random. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const x = out[i];
    const y = out[j];
    if (x === undefined || y === undefined) throw new Error('index out of range');
    out[i] = y;
    out[j] = x;
  }
  return out;
}

describe('stageHash', () => {
  it('gives the same hash for the same campaign and device', () => {
    expect(stageHash('cmp_1', 'dev_42')).toBe(stageHash('cmp_1', 'dev_42'));
  });

  it.each([
    { name: 'separates ("ab", "c") from ("a", "bc")', a: ['ab', 'c'], b: ['a', 'bc'] },
    { name: 'separates ("", "abc") from ("abc", "")', a: ['', 'abc'], b: ['abc', ''] },
    { name: 'depends on the campaign', a: ['cmp_1', 'dev_1'], b: ['cmp_2', 'dev_1'] },
    { name: 'depends on the device', a: ['cmp_1', 'dev_1'], b: ['cmp_1', 'dev_2'] },
    { name: 'depends on the order of the two', a: ['x', 'y'], b: ['y', 'x'] },
  ])('$name', ({ a, b }) => {
    expect(stageHash(a[0] ?? '', a[1] ?? '')).not.toBe(stageHash(b[0] ?? '', b[1] ?? ''));
  });

  it('is a non-negative safe integer below 2^53', () => {
    for (const id of ids(1000)) {
      const h = stageHash('cmp_range', id);
      expect(Number.isSafeInteger(h)).toBe(true);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(h).toBeLessThan(2 ** 53);
    }
  });

  it('has no collisions among 100 000 devices of one campaign', () => {
    const hashes = new Set(ids(100_000).map((id) => stageHash('cmp_collide', id)));
    expect(hashes.size).toBe(100_000);
  });
});

describe('cumulativeSizes', () => {
  it.each([
    { percents: [10, 50, 100], n: 100, expected: [10, 50, 100] },
    { percents: [10, 50, 100], n: 10_000, expected: [1000, 5000, 10_000] },
    { percents: [1, 10, 100], n: 100, expected: [1, 10, 100] },
    { percents: [1, 10, 100], n: 10_000, expected: [100, 1000, 10_000] },
    { percents: [10, 50, 100], n: 1, expected: [1, 1, 1] },
    { percents: [10, 50, 100], n: 3, expected: [1, 2, 3] },
    { percents: [10, 50, 100], n: 7, expected: [1, 4, 7] },
    { percents: [1, 10, 100], n: 1, expected: [1, 1, 1] },
    { percents: [1, 10, 100], n: 3, expected: [1, 1, 3] },
    { percents: [1, 10, 100], n: 7, expected: [1, 1, 7] },
    { percents: [10, 50, 100], n: 0, expected: [0, 0, 0] },
    { percents: [7, 33, 100], n: 100, expected: [7, 33, 100] },
    { percents: [0.1, 1, 100], n: 1000, expected: [1, 10, 1000] },
    { percents: [10, 50, 100], n: 1_000_000, expected: [100_000, 500_000, 1_000_000] },
  ])('$percents of $n -> $expected', ({ percents, n, expected }) => {
    expect(cumulativeSizes(percents, n)).toEqual(expected);
  });

  it.each([
    { percents: [10, 50, 100] },
    { percents: [1, 10, 100] },
    { percents: [7, 33, 100] },
    { percents: [5, 25, 60, 100] },
  ])('rounds up, never shrinks and ends at n for $percents over n = 0..500', ({ percents }) => {
    for (let n = 0; n <= 500; n++) {
      const sizes = cumulativeSizes(percents, n);
      sizes.forEach((size, i) => {
        const p = percents[i] ?? 100;
        expect(size).toBe(Math.ceil(Math.round((p / 100) * n * 1e6) / 1e6));
        if (i > 0) expect(size).toBeGreaterThanOrEqual(sizes[i - 1] ?? 0);
      });
      expect(sizes.at(-1)).toBe(n);
    }
  });

  it('never lets a later stage be smaller than an earlier one, even for percents out of order', () => {
    expect(cumulativeSizes([50, 10, 100], 100)).toEqual([50, 50, 100]);
  });
});

describe('assignStages', () => {
  it.each([
    { n: 100, percents: [10, 50, 100], sizes: [10, 40, 50] },
    { n: 10_000, percents: [10, 50, 100], sizes: [1000, 4000, 5000] },
    { n: 100, percents: [1, 10, 100], sizes: [1, 9, 90] },
    { n: 10_000, percents: [1, 10, 100], sizes: [100, 900, 9000] },
    { n: 7, percents: [10, 50, 100], sizes: [1, 3, 3] },
    { n: 1, percents: [10, 50, 100], sizes: [1, 0, 0] },
    { n: 0, percents: [10, 50, 100], sizes: [0, 0, 0] },
  ])('puts exactly $sizes of $n devices into stages $percents', ({ n, percents, sizes }) => {
    expect(stageSizes(assignStages('cmp_sizes', ids(n), percents), percents.length)).toEqual(sizes);
  });

  it('gives a device the same stage for the same campaign regardless of input order', () => {
    const devices = ids(10_000);
    const stageOf = (order: string[]) => {
      const stages = assignStages('cmp_order', order, [10, 50, 100]);
      return new Map(order.map((id, i) => [id, stages[i]]));
    };
    const original = stageOf(devices);
    for (const seed of [1, 2, 3]) {
      const again = stageOf(shuffled(devices, seed));
      expect(devices.every((id) => again.get(id) === original.get(id))).toBe(true);
    }
    expect(stageOf([...devices].reverse())).toEqual(original);
  });

  it('gives the same stages on a second run', () => {
    const devices = ids(1000);
    expect(assignStages('cmp_repeat', devices, [10, 50, 100])).toEqual(assignStages('cmp_repeat', devices, [10, 50, 100]));
  });

  it('moves no device to a later stage when a middle stage widens', () => {
    const devices = ids(10_000);
    const narrow = assignStages('cmp_grow', devices, [10, 50, 100]);
    const wide = assignStages('cmp_grow', devices, [10, 80, 100]);
    expect(devices.every((_, i) => (narrow[i] === 0) === (wide[i] === 0))).toBe(true);
    expect(devices.every((_, i) => narrow[i] !== 1 || wide[i] === 1)).toBe(true);
  });

  it.each([
    { a: 'cmp_1', b: 'cmp_2' },
    { a: 'cmp_spring', b: 'cmp_summer' },
    { a: 'cmp_01HZX', b: 'cmp_01HZY' },
  ])('takes a different sample for $a and $b: the first 10% overlap about 10%', ({ a, b }) => {
    const devices = ids(10_000);
    const first = assignStages(a, devices, [10, 50, 100]);
    const second = assignStages(b, devices, [10, 50, 100]);
    let overlap = 0;
    for (let i = 0; i < devices.length; i++) if (first[i] === 0 && second[i] === 0) overlap++;
    // Independent 10% samples of 10 000 share 10% of 1000 = 100 devices on average.
    expect(overlap).toBeGreaterThan(50);
    expect(overlap).toBeLessThan(150);
  });

  describe.each(['cmp_fair_a', 'cmp_fair_b', 'cmp_01J2Q7X9V3'])('fairness over dev-00000..dev-99999 for %s', (campaignId) => {
    const n = 100_000;
    const stages = assignStages(campaignId, ids(n), [1, 10, 100]);

    it.each([
      { stage: 0, size: 1000 },
      { stage: 1, size: 10_000 },
    ])('stages 0..$stage do not take the lowest ids: their mean index is near the middle', ({ stage, size }) => {
      let sum = 0;
      let count = 0;
      stages.forEach((s, i) => {
        if (s <= stage) {
          sum += i;
          count++;
        }
      });
      expect(count).toBe(size);
      // The lowest ids would have a mean of size / 2; a fair sample has a mean near n / 2.
      expect(Math.abs(sum / count - n / 2)).toBeLessThan(n / 10);
    });

    it.each([
      { stage: 0, size: 1000 },
      { stage: 1, size: 10_000 },
    ])('stages 0..$stage draw evenly from 10 id ranges (chi-square)', ({ stage, size }) => {
      const buckets = new Array<number>(10).fill(0);
      stages.forEach((s, i) => {
        if (s <= stage) {
          const b = Math.floor(i / (n / 10));
          buckets[b] = (buckets[b] ?? 0) + 1;
        }
      });
      const expected = size / 10;
      const chiSquare = buckets.reduce((sum, observed) => sum + (observed - expected) ** 2 / expected, 0);
      // 9 degrees of freedom: 27.9 is the 99.9th percentile; 40 is far beyond it, while
      // a sample that followed the ids would score in the thousands.
      expect(chiSquare).toBeLessThan(40);
      expect(Math.min(...buckets)).toBeGreaterThan(0);
    });
  });

  it('assigns a million devices with exact stage sizes', () => {
    const n = 1_000_000;
    const stages = assignStages('cmp_million', ids(n, 'IMEI:35', 8), [1, 10, 100]);
    expect(stageSizes(stages, 3)).toEqual([10_000, 90_000, 900_000]);
  });
});

describe('stageOfLateJoiner', () => {
  const late = ids(100_000, 'late-');

  it.each([10, 50, 100])('puts about %d% of 100 000 late joiners into stage 0 (within 1%)', (percent) => {
    let first = 0;
    for (const id of late) if (stageOfLateJoiner('cmp_late', id, [percent, 100]) === 0) first++;
    expect(Math.abs(first / late.length - percent / 100)).toBeLessThanOrEqual(0.01);
  });

  it('spreads late joiners over 10% -> 50% -> 100% in about those shares', () => {
    const sizes = [0, 0, 0];
    for (const id of late) {
      const s = stageOfLateJoiner('cmp_late', id, [10, 50, 100]);
      sizes[s] = (sizes[s] ?? 0) + 1;
    }
    expect(Math.abs((sizes[0] ?? 0) / late.length - 0.1)).toBeLessThanOrEqual(0.01);
    expect(Math.abs((sizes[1] ?? 0) / late.length - 0.4)).toBeLessThanOrEqual(0.01);
    expect(Math.abs((sizes[2] ?? 0) / late.length - 0.5)).toBeLessThanOrEqual(0.01);
  });

  it('places a late joiner the same way every time', () => {
    expect(late.slice(0, 100).map((id) => stageOfLateJoiner('cmp_late', id, [10, 50, 100]))).toEqual(late.slice(0, 100).map((id) => stageOfLateJoiner('cmp_late', id, [10, 50, 100])));
  });

  it('puts every late joiner into the last stage when its share is 100%, and none past it', () => {
    expect(late.slice(0, 1000).every((id) => stageOfLateJoiner('cmp_late', id, [0, 0, 100]) === 2)).toBe(true);
  });
});

describe('stageBounds', () => {
  it.each([[[1, 10, 50, 100]], [[10, 100]], [[0, 100]], [[100]], [[33.3, 66.6, 100]]])('places devices as assignStages does for stages %j', async (percents) => {
    const devices = ids(5000);
    const hashes = Float64Array.from(devices, (id) => stageHash('cmp_b', id));
    const bounds = await stageBounds(hashes, percents, async () => []);
    const expected = assignStages('cmp_b', devices, percents);
    expect(devices.map((id) => stageByBounds(stageHash('cmp_b', id), id, bounds))).toEqual([...expected]);
  });

  it('splits a run of equal hashes at a stage bound by device id, keeping the stage sizes exact', async () => {
    // Ten devices, six of them sharing one hash across the 50 % bound.
    const devices = [
      { id: 'a', hash: 1 },
      { id: 'b', hash: 2 },
      ...['t5', 't1', 't4', 't2', 't6', 't3'].map((id) => ({ id, hash: 7 })),
      { id: 'y', hash: 9 },
      { id: 'z', hash: 2 ** 52 },
    ];
    const bounds = await stageBounds(Float64Array.from(devices, (d) => d.hash), [50, 100], async (hash) => devices.filter((d) => d.hash === hash).map((d) => d.id));
    const first = devices.filter((d) => stageByBounds(d.hash, d.id, bounds) === 0).map((d) => d.id).sort();
    expect(first).toEqual(['a', 'b', 't1', 't2', 't3']);
  });
});
