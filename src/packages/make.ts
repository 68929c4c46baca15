// Turns one or two firmware images into a signed `.fota` package file: hash the images,
// make the payload (delta or full), sign the manifest, write the file. Slow steps report
// progress so a command line can show it. A delta too large to be worth offering is
// replaced by the full image: whoever asked for this file wants a package either way.
import { rm } from 'node:fs/promises';
import type { DeltaPool } from '../delta/pool.ts';
import type { PayloadKind } from '../delta/payload.ts';
import { tempPathFor } from '../files.ts';
import type { SigningKey } from '../signing/keys.ts';
import { type FotaLayout, writeFotaFile } from './fota-file.ts';
import type { OfflineSignatures, PackageEnvelope } from './manifest.ts';
import { type MakeProgress, type PackageImage, preparePackage } from './prepare.ts';

export type { MakeProgress } from './prepare.ts';

export interface MakePackageRequest {
  manufacturer: string;
  model: string;
  /** The image devices run now; absent for a full package. */
  from?: PackageImage;
  to: PackageImage & { securityVersion?: number };
  key: SigningKey;
  /** The manufacturer's offline signatures to embed (formatVersion 2). */
  offline?: OfflineSignatures;
  outPath: string;
  pool: DeltaPool;
  maxDeltaRatio?: number;
  chunkSize?: number;
  now?: () => Date;
  onProgress?: (event: MakeProgress) => void;
  signal?: AbortSignal;
}

export interface MadePackage {
  envelope: PackageEnvelope;
  outPath: string;
  kind: PayloadKind;
  /** Where the payload starts in the file and how large it is, as written. */
  file: FotaLayout;
  /** Set when a delta was made but was too large to be worth offering. */
  rejectedDeltaSize?: number;
}

export async function makePackage(request: MakePackageRequest): Promise<MadePackage> {
  const deltaPath = `${tempPathFor(request.outPath)}.bsdiff`;
  try {
    const prepared = await preparePackage({ ...request, deltaPath, fallBackToFull: true });
    request.onProgress?.({ phase: 'writing' });
    const file = await writeFotaFile(request.outPath, prepared.envelope, prepared.payloadPath);
    return {
      envelope: prepared.envelope,
      outPath: request.outPath,
      kind: prepared.kind,
      file,
      ...(prepared.rejectedDeltaSize === undefined ? {} : { rejectedDeltaSize: prepared.rejectedDeltaSize }),
    };
  } finally {
    await rm(deltaPath, { force: true });
  }
}
