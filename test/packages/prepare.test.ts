import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { preparePackage, type PrepareRequest } from '../../src/packages/prepare.ts';
import { generateKey } from '../../src/signing/keys.ts';
import { nextBuild, pseudoRandom, sha256, tempDir } from '../support/harness.ts';
import { pool } from '../support/packages.ts';
import { passesOver, resetPasses } from '../support/streamed-files.ts';

vi.mock('node:fs', async (original) => (await import('../support/streamed-files.ts')).countingFs(await original()));

/** Two images on disk: `v2` is either the next build of `v1` or unrelated to it. */
async function images(related: boolean) {
  const dir = tempDir();
  const v1 = pseudoRandom(150_000, 'prepare-v1');
  const v2 = related ? nextBuild(v1) : pseudoRandom(150_000, 'prepare-unrelated');
  const paths = { v1: join(dir, 'v1'), v2: join(dir, 'v2'), delta: join(dir, 'delta') };
  await writeFile(paths.v1, v1);
  await writeFile(paths.v2, v2);
  resetPasses();
  return { v1, v2, paths };
}

/** A digest that is not the image's: what a trusted row would say about damaged bytes. */
const recorded = (bytes: Buffer) => ({ sha256: sha256(Buffer.concat([bytes, Buffer.from('recorded')])), size: bytes.length });

function request(paths: { v1: string; v2: string; delta: string }, overrides: Partial<PrepareRequest>): PrepareRequest {
  return {
    manufacturer: 'acme',
    model: 'router-x',
    from: { path: paths.v1, version: '1.0' },
    to: { path: paths.v2, version: '2.0' },
    key: generateKey(),
    pool,
    deltaPath: paths.delta,
    fallBackToFull: true,
    ...overrides,
  };
}

describe('preparePackage', () => {
  it('trusts the digests it is given: a delta names them without reading either image to hash it', async () => {
    const { v1, v2, paths } = await images(true);
    const made = await preparePackage(request(paths, { from: { path: paths.v1, version: '1.0', digest: recorded(v1) }, to: { path: paths.v2, version: '2.0', digest: recorded(v2) }, fallBackToFull: false }));
    if (made.kind === 'rejected') throw new Error('the delta of a next build was rejected');
    expect(made.envelope.signed.source).toEqual({ version: '1.0', ...recorded(v1) });
    expect(made.envelope.signed.target).toMatchObject(recorded(v2));
    // bsdiff reads both in its own process; Node opens neither.
    expect([passesOver(paths.v1), passesOver(paths.v2)]).toEqual([0, 0]);
  });

  it('hashes each image once without digests, and a full fallback reuses the target slices hashed for the manifest', async () => {
    const { v2, paths } = await images(false);
    const made = await preparePackage({ ...request(paths, { maxDeltaRatio: 0.5 }), fallBackToFull: true });
    expect(made).toMatchObject({ kind: 'full', payloadPath: paths.v2, rejectedDeltaSize: expect.any(Number) });
    expect(made.envelope.signed.payload).toMatchObject({ kind: 'full', sha256: sha256(v2), size: v2.length });
    expect([passesOver(paths.v1), passesOver(paths.v2)]).toEqual([1, 1]);
  });

  it('without a full fallback, stops at a delta not worth offering: no payload, no delta file, the image not read', async () => {
    const { v2, paths } = await images(false);
    const made = await preparePackage(request(paths, { to: { path: paths.v2, version: '2.0', digest: { sha256: sha256(v2), size: v2.length } }, fallBackToFull: false }));
    expect(made).toEqual({ kind: 'rejected', deltaSize: expect.any(Number) });
    await expect(stat(paths.delta)).rejects.toThrow(/ENOENT/);
    expect(passesOver(paths.v2)).toBe(0);
  });

  it('refuses to package a full image whose bytes are not its recorded digest', async () => {
    const { v2, paths } = await images(true);
    await expect(preparePackage(request(paths, { from: undefined, to: { path: paths.v2, version: '2.0', digest: recorded(v2) } }))).rejects.toMatchObject({
      code: 'INTEGRITY',
      message: expect.stringMatching(/not the recorded [0-9a-f]{64} and 150300; it is damaged/),
    });
  });
});
