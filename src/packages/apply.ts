// Installs a `.fota` package onto a base image the way a device does: every check of
// verify.ts, then patch (or copy) into a temporary file, check the result against the
// signed target hash (410), and only then move it to the output path. A rejected package
// leaves nothing behind.
import { rename, rm } from 'node:fs/promises';
import type { DeltaPool } from '../delta/pool.ts';
import { commitFile, statInputFile, tempPathFor } from '../files.ts';
import { type Digest, hashFile } from '../hashing.ts';
import type { TrustPolicy } from '../signing/envelope.ts';
import type { RootEnvelope } from '../signing/offline-root.ts';
import { FumoResult } from '../omadm/fumo-results.ts';
import type { Manifest } from './manifest.ts';
import { checkTargetDigest, type DeviceFacts, type Verdict, verifyFotaFile } from './verify.ts';

export interface ApplyRequest {
  packagePath: string;
  /** The image installed now; required for a delta, not needed for a full image. */
  basePath?: string;
  outPath: string;
  trust: TrustPolicy;
  device?: Omit<DeviceFacts, 'currentSha256'>;
  pool: DeltaPool;
  /** Hashes the base and the result; the fleet simulator answers from what it knows of shared images. */
  hashImage?: (path: string) => Promise<Digest>;
}

export async function applyPackage(request: ApplyRequest): Promise<Verdict<{ manifest: Manifest; root?: RootEnvelope }>> {
  const baseInfo = request.basePath === undefined ? undefined : await statInputFile(request.basePath, 'base image');
  const hashImage = request.hashImage ?? ((path: string) => hashFile(path));
  const base = request.basePath === undefined ? undefined : await hashImage(request.basePath);
  const tmp = tempPathFor(request.outPath);
  const payloadCopy = `${tmp}.payload`;
  try {
    const verdict = await verifyFotaFile(request.packagePath, {
      trust: request.trust,
      device: { ...request.device, ...(base ? { currentSha256: base.sha256 } : {}) },
      copyPayloadTo: payloadCopy,
    });
    if (!verdict.ok) return verdict;
    const { manifest } = verdict;
    if (manifest.source) {
      if (!request.basePath) {
        return { ok: false, resultCode: FumoResult.PackageMismatch, reason: `package is a delta from version ${manifest.source.version}; give the base image it patches` };
      }
      try {
        await request.pool.patch(request.basePath, payloadCopy, tmp, manifest.target.size);
      } catch (err) {
        return { ok: false, resultCode: FumoResult.UpdateFailed, reason: `patching failed: ${(err as Error).message}` };
      }
    } else {
      await rename(payloadCopy, tmp); // a full payload is the image itself, already checked
    }
    const target = checkTargetDigest(manifest, await hashImage(tmp));
    if (!target.ok) return target;
    await commitFile(tmp, request.outPath, baseInfo ? baseInfo.mode & 0o777 : 0o644);
    return { ok: true, manifest, ...(verdict.root ? { root: verdict.root } : {}) };
  } finally {
    await Promise.all([rm(tmp, { force: true }), rm(payloadCopy, { force: true })]);
  }
}
