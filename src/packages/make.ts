// Turns one or two firmware images into a signed `.fota` package: hash the images, make
// the payload (delta or full), sign the manifest, write the file. Slow steps report
// progress so a command line or a job runner can show it.
import { rm } from 'node:fs/promises';
import type { DeltaPool } from '../delta/pool.ts';
import { makePayload, type PayloadKind } from '../delta/payload.ts';
import { statInputFile, tempPathFor } from '../files.ts';
import { hashFile } from '../hashing.ts';
import { signEnvelope } from '../signing/envelope.ts';
import type { SigningKey } from '../signing/keys.ts';
import { type FotaLayout, writeFotaFile } from './fota-file.ts';
import { manifestSchema, type Manifest, type PackageEnvelope } from './manifest.ts';

export type MakeProgress =
  | { phase: 'hashing'; file: string; bytesDone: number; bytesTotal: number }
  | { phase: 'diffing' }
  | { phase: 'writing' };

export interface MakePackageRequest {
  manufacturer: string;
  model: string;
  /** The image devices run now; absent for a full package. */
  from?: { path: string; version: string };
  to: { path: string; version: string; securityVersion?: number };
  key: SigningKey;
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
  const { from, to, onProgress } = request;
  const hashImage = async (path: string) => {
    const info = await statInputFile(path, 'image');
    return hashFile(path, { onProgress: (bytesDone) => onProgress?.({ phase: 'hashing', file: path, bytesDone, bytesTotal: info.size }) });
  };
  const source = from ? await hashImage(from.path) : undefined;
  const target = await hashImage(to.path);

  const deltaPath = `${tempPathFor(request.outPath)}.bsdiff`;
  try {
    if (from) onProgress?.({ phase: 'diffing' });
    const payload = await makePayload({
      fromPath: from?.path,
      toPath: to.path,
      deltaPath,
      pool: request.pool,
      maxDeltaRatio: request.maxDeltaRatio,
      chunkSize: request.chunkSize,
      signal: request.signal,
    });
    const manifest: Manifest = manifestSchema.parse({
      type: 'fota.package',
      formatVersion: 1,
      manufacturer: request.manufacturer,
      model: request.model,
      source: from && source && payload.kind === 'bsdiff40' ? { version: from.version, sha256: source.sha256, size: source.size } : null,
      target: { version: to.version, sha256: target.sha256, size: target.size, securityVersion: to.securityVersion ?? 0 },
      payload: { kind: payload.kind, sha256: payload.sha256, size: payload.size, chunkSize: payload.chunkSize, chunks: payload.chunks },
      createdAt: (request.now?.() ?? new Date()).toISOString(),
    });
    const envelope = signEnvelope(manifest, [request.key]);
    onProgress?.({ phase: 'writing' });
    const file = await writeFotaFile(request.outPath, envelope, payload.path);
    return {
      envelope,
      outPath: request.outPath,
      kind: payload.kind,
      file,
      ...(payload.rejectedDeltaSize === undefined ? {} : { rejectedDeltaSize: payload.rejectedDeltaSize }),
    };
  } finally {
    await rm(deltaPath, { force: true });
  }
}
