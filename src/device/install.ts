// Installing a downloaded package into the inactive A/B slot: packages/apply.ts runs every
// device check again on the bytes on disk (signature, model, source image, security
// version, payload hash), patches (bsdiff40) or copies (full) into a temporary file beside
// the slot, checks the result against the signed target hash (410) and only then moves it
// into the slot. The caller switches the `active` pointer afterwards.
import type { DeltaPool } from '../delta/pool.ts';
import type { Digest } from '../hashing.ts';
import { applyPackage } from '../packages/apply.ts';
import type { Manifest } from '../packages/manifest.ts';
import type { TrustPolicy } from '../signing/envelope.ts';
import type { RootEnvelope } from '../signing/offline-root.ts';
import type { Outcome } from './results.ts';

export interface InstallRequest {
  packagePath: string;
  /** The running image (the base a delta patches). */
  activePath: string;
  /** The other slot, overwritten with the new image. */
  inactivePath: string;
  trust: TrustPolicy;
  model: string;
  securityVersion: number;
  hardwareVersion?: string;
  pool: DeltaPool;
  hashImage?: (path: string) => Promise<Digest>;
}

export async function installPackage(request: InstallRequest): Promise<Outcome<{ manifest: Manifest; root?: RootEnvelope }>> {
  return applyPackage({
    packagePath: request.packagePath,
    basePath: request.activePath,
    outPath: request.inactivePath,
    trust: request.trust,
    device: { model: request.model, securityVersion: request.securityVersion, ...(request.hardwareVersion === undefined ? {} : { hardwareVersion: request.hardwareVersion }) },
    pool: request.pool,
    ...(request.hashImage ? { hashImage: request.hashImage } : {}),
  });
}
