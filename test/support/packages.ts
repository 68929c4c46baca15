// Builds real signed packages from small synthetic images for the package and CLI tests.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeltaPool } from '../../src/delta/pool.ts';
import { makePackage } from '../../src/packages/make.ts';
import { generateKey, type SigningKey } from '../../src/signing/keys.ts';
import { nextBuild, pseudoRandom } from './harness.ts';

export const pool = new DeltaPool();

export interface TestPackage {
  dir: string;
  oldPath: string;
  newPath: string;
  packagePath: string;
  key: SigningKey;
  newImage: Buffer;
}

export async function makeTestPackage(
  dir: string,
  options: { full?: boolean; securityVersion?: number; chunkSize?: number; size?: number } = {},
): Promise<TestPackage> {
  const oldImage = pseudoRandom(options.size ?? 400_000, 'v1');
  const newImage = nextBuild(oldImage);
  const oldPath = join(dir, 'v1.img');
  const newPath = join(dir, 'v2.img');
  await writeFile(oldPath, oldImage);
  await writeFile(newPath, newImage);
  const key = generateKey();
  const packagePath = join(dir, 'p.fota');
  await makePackage({
    manufacturer: 'acme',
    model: 'router-x',
    ...(options.full ? {} : { from: { path: oldPath, version: '1.0' } }),
    to: { path: newPath, version: '2.0', securityVersion: options.securityVersion ?? 3 },
    key,
    outPath: packagePath,
    pool,
    chunkSize: options.chunkSize ?? 4096,
  });
  return { dir, oldPath, newPath, packagePath, key, newImage };
}
