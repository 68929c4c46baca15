// Which stage each device of a cohort is in. Devices are ordered by a stable hash of
// (campaign id, device id), and stage i takes the next devices up to its cumulative share:
// with 10% -> 50% -> 100%, the first 10% of that order, then up to 50%, then the rest. The
// order is a fair random sample (the hash does not follow ids, models or versions), the
// stage sizes are exact, and a device never changes stage. A device that joins a dynamic
// campaign later is placed by where its hash falls in [0, 1).
import { setImmediate as nextTurn } from 'node:timers/promises';

/** A 53-bit hash (two 32-bit multiply-xorshift lanes); fast enough for a million ids. */
export function stageHash(campaignId: string, deviceId: string): number {
  // The two lanes stay local variables (a closure over them would keep them in a heap
  // context, which made this the slowest part of a million-device start).
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < campaignId.length; i++) {
    const code = campaignId.charCodeAt(i);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  // Separator: ("ab", "c") and ("a", "bc") must differ.
  h1 = Math.imul(h1 ^ 0x1f, 2654435761);
  h2 = Math.imul(h2 ^ 0x1f, 1597334677);
  for (let i = 0; i < deviceId.length; i++) {
    const code = deviceId.charCodeAt(i);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

const HASH_RANGE = 2 ** 53;

/** How many devices are in stages 0..i together: ceil(percent_i% of n), never fewer than the stage before. */
export function cumulativeSizes(percents: number[], n: number): number[] {
  let previous = 0;
  return percents.map((p) => (previous = Math.max(previous, Math.min(n, Math.ceil((p / 100) * n - 1e-9)))));
}

/** The stage of each device, in the order of `deviceIds`. */
export function assignStages(campaignId: string, deviceIds: readonly string[], percents: number[]): Uint8Array {
  const n = deviceIds.length;
  const hashes = new Float64Array(n);
  for (let i = 0; i < n; i++) hashes[i] = stageHash(campaignId, deviceIds[i] ?? '');
  const ends = cumulativeSizes(percents, n);
  // Stage i ends at the hash of rank ends[i] - 1: a native numeric sort of the hashes finds
  // those bounds, and each device is placed by comparing its hash with them. Only when one
  // hash value straddles a bound (one in 2^53) does the id decide, as in the full sort.
  const sorted = hashes.slice().sort();
  const last = ends.length - 1;
  const bounds: number[] = [];
  for (let s = 0; s < last; s++) {
    const end = ends[s] ?? 0;
    if (end > 0 && end < n && sorted[end - 1] === sorted[end]) return assignBySort(hashes, deviceIds, ends);
    bounds.push(end > 0 ? (sorted[end - 1] ?? Number.NEGATIVE_INFINITY) : Number.NEGATIVE_INFINITY);
  }
  const stages = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const h = hashes[i] ?? 0;
    let stage = 0;
    while (stage < last && !(h <= (bounds[stage] ?? Number.NEGATIVE_INFINITY))) stage++;
    stages[i] = stage;
  }
  return stages;
}

/** Ranks every device by (hash, id): exact when hashes tie at a stage bound. */
function assignBySort(hashes: Float64Array, deviceIds: readonly string[], ends: number[]): Uint8Array {
  const n = deviceIds.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  // Ties (one in 2^53) fall back to the id, so the order never depends on input order.
  order.sort((a, b) => (hashes[a] ?? 0) - (hashes[b] ?? 0) || ((deviceIds[a] ?? '') < (deviceIds[b] ?? '') ? -1 : 1));
  const stages = new Uint8Array(n);
  let stage = 0;
  for (let rank = 0; rank < n; rank++) {
    while (stage < ends.length - 1 && rank >= (ends[stage] ?? n)) stage++;
    stages[order[rank] ?? 0] = stage;
  }
  return stages;
}

/** The stage of a device that joins after the start: where its hash falls among the shares. */
export function stageOfLateJoiner(campaignId: string, deviceId: string, percents: number[]): number {
  const share = (stageHash(campaignId, deviceId) / HASH_RANGE) * 100;
  const index = percents.findIndex((p) => share < p);
  return index === -1 ? percents.length - 1 : index;
}

/**
 * Where a stage ends in the (hash, id) order of a cohort: a device is in the first stage
 * whose bound it does not pass. `id` is absent when no other device shares the bound's hash
 * across it, so every device with that hash is in (the one case in 2^53 that needs ids).
 * Bounds let a start place devices a chunk at a time, exactly as assignStages would.
 */
export interface StageBound {
  hash: number;
  id?: string;
}

/** Above every hash: the bound of a stage that takes the whole cohort. */
const PAST_EVERY_HASH = HASH_RANGE;

/**
 * The bounds of every stage but the last (which takes the rest), from the hashes of the
 * cohort's devices. When devices tie on a bound's hash, `idsWithHash` lists theirs (a rare
 * second look at the cohort) and the id decides, as in assignBySort.
 */
export async function stageBounds(hashes: Float64Array, percents: number[], idsWithHash: (hash: number) => Promise<string[]>): Promise<StageBound[]> {
  const n = hashes.length;
  const ends = cumulativeSizes(percents, n);
  const inner = ends.slice(0, -1).filter((end) => end > 0 && end < n);
  const ranked = await ranksOf(hashes, inner.map((end) => end - 1));
  const bounds: StageBound[] = [];
  for (let s = 0; s < ends.length - 1; s++) {
    const end = ends[s] ?? 0;
    if (end <= 0) bounds.push({ hash: -1 });
    else if (end >= n) bounds.push({ hash: PAST_EVERY_HASH });
    else {
      const found = ranked.get(end - 1);
      if (!found) throw new Error(`no hash found at rank ${end - 1}`);
      const { hash, runStart, tiedAcross } = found;
      if (!tiedAcross) bounds.push({ hash });
      else {
        // The bound falls inside a run of equal hashes: the first (end - runStart) of them by id are in.
        const ids = (await idsWithHash(hash)).sort();
        bounds.push({ hash, id: ids[end - 1 - runStart] ?? '' });
      }
    }
  }
  return bounds;
}

/** Buckets of the hash range a rank is looked up in: a million hashes put about 16 in each. */
const RANK_BUCKETS = 1 << 16;

/**
 * Hashes gone through per turn of the event loop: a pass over a million at once held the
 * loop for 120-250 ms (bench:campaign), so the passes go a slice at a time.
 */
const RANK_SLICE = 100_000;

/**
 * The hash at each of `ranks` of the sorted hashes, without sorting them all (a
 * million-element sort held the event loop for a start's longest stretch): the hashes are
 * counted into buckets by their top bits, and only the buckets holding the ranks are
 * gathered and sorted. Also where the run of that hash value begins, and whether the
 * value continues past the rank. Two passes over the hashes, a slice per turn.
 */
async function ranksOf(hashes: Float64Array, ranks: number[]): Promise<Map<number, { hash: number; runStart: number; tiedAcross: boolean }>> {
  const found = new Map<number, { hash: number; runStart: number; tiedAcross: boolean }>();
  if (ranks.length === 0) return found;
  const scale = RANK_BUCKETS / HASH_RANGE;
  const bucketOf = (h: number) => Math.min(RANK_BUCKETS - 1, Math.floor(h * scale));
  const buckets = new Uint16Array(hashes.length);
  const counts = new Uint32Array(RANK_BUCKETS);
  for (let from = 0; from < hashes.length; from += RANK_SLICE) {
    const to = Math.min(hashes.length, from + RANK_SLICE);
    for (let i = from; i < to; i++) {
      const b = bucketOf(hashes[i] ?? 0);
      buckets[i] = b;
      counts[b] = (counts[b] ?? 0) + 1;
    }
    await nextTurn();
  }
  // Each rank's bucket, and how many hashes lie in the buckets before it.
  const wanted = new Map<number, { before: number; values: number[] }>();
  const isWanted = new Uint8Array(RANK_BUCKETS);
  const where = ranks.map((rank) => {
    let before = 0;
    let bucket = 0;
    while (bucket < RANK_BUCKETS - 1 && before + (counts[bucket] ?? 0) <= rank) before += counts[bucket++] ?? 0;
    if (!wanted.has(bucket)) wanted.set(bucket, { before, values: [] });
    isWanted[bucket] = 1;
    return { rank, bucket };
  });
  for (let from = 0; from < hashes.length; from += RANK_SLICE) {
    const to = Math.min(hashes.length, from + RANK_SLICE);
    for (let i = from; i < to; i++) if (isWanted[buckets[i] ?? 0] === 1) wanted.get(buckets[i] ?? 0)?.values.push(hashes[i] ?? 0);
    await nextTurn();
  }
  for (const { values } of wanted.values()) values.sort((a, b) => a - b);
  for (const { rank, bucket } of where) {
    const { before, values: inBucket } = wanted.get(bucket) ?? { before: 0, values: [] };
    const at = rank - before;
    const hash = inBucket[at] ?? 0;
    let first = at;
    while (first > 0 && inBucket[first - 1] === hash) first--;
    // Equal hashes share a bucket, so a run never continues into the next one.
    found.set(rank, { hash, runStart: before + first, tiedAcross: inBucket[at + 1] === hash });
  }
  return found;
}

/** The stage of a device by its hash and id against the bounds of stageBounds. */
export function stageByBounds(hash: number, deviceId: string, bounds: readonly StageBound[]): number {
  for (let s = 0; s < bounds.length; s++) {
    const bound = bounds[s];
    if (!bound) break;
    if (hash < bound.hash || (hash === bound.hash && (bound.id === undefined || deviceId <= bound.id))) return s;
  }
  return bounds.length;
}
