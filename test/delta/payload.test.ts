import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { choosePayloadKind, makePayload } from '../../src/delta/payload.ts';
import { DeltaPool } from '../../src/delta/pool.ts';
import { nextBuild, pseudoRandom, sha256, tempDir } from '../support/harness.ts';

describe('choosePayloadKind', () => {
  it.each([
    [59, 100, 0.6, 'bsdiff40'],
    [60, 100, 0.6, 'bsdiff40'],
    [61, 100, 0.6, 'full'],
    [10, 100, 0.05, 'full'],
    [100, 100, 1, 'bsdiff40'],
  ])('a %d-byte delta of a %d-byte image at ratio %d is %s', (delta, full, ratio, kind) => {
    expect(choosePayloadKind(delta, full, ratio)).toBe(kind);
  });
});

describe('makePayload', () => {
  const pool = new DeltaPool();

  it('makes a delta and hashes it slice by slice', async () => {
    const dir = tempDir();
    const old = pseudoRandom(300_000);
    await writeFile(join(dir, 'old'), old);
    await writeFile(join(dir, 'new'), nextBuild(old));
    const payload = await makePayload({ fromPath: join(dir, 'old'), toPath: join(dir, 'new'), deltaPath: join(dir, 'd'), pool, chunkSize: 1000 });
    expect(payload.kind).toBe('bsdiff40');
    expect(payload.path).toBe(join(dir, 'd'));
    expect(payload.size).toBe((await stat(join(dir, 'd'))).size);
    expect(payload.chunks).toHaveLength(Math.ceil(payload.size / 1000));
  });

  it('falls back to the full image when the delta is too large to be worth it', async () => {
    const dir = tempDir();
    await writeFile(join(dir, 'old'), pseudoRandom(100_000, 'a'));
    const unrelated = pseudoRandom(100_000, 'b');
    await writeFile(join(dir, 'new'), unrelated);
    const payload = await makePayload({ fromPath: join(dir, 'old'), toPath: join(dir, 'new'), deltaPath: join(dir, 'd'), pool });
    expect(payload).toMatchObject({ kind: 'full', path: join(dir, 'new'), sha256: sha256(unrelated), size: 100_000 });
    expect(payload.rejectedDeltaSize).toBeGreaterThan(60_000);
    await expect(stat(join(dir, 'd'))).rejects.toThrow(/ENOENT/);
  });
});
