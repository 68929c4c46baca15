// The signed half of a package: digests of the images, the payload (delta or full), the
// manifest and its signature, without writing the `.fota` file, so a caller can write it
// to a path (the command line) or stream it straight into an artifact store (the server).
// Every pass over an image costs a read of up to gigabytes, so none is made twice: a
// digest the caller knows is trusted, and a target hashed for the manifest is hashed in
// payload slices so that, should the payload be the full image, it needs no second pass.
import { makeDelta, makePayload, type Payload } from '../delta/payload.ts';
import type { DeltaPool } from '../delta/pool.ts';
import { AppError } from '../errors.ts';
import { statInputFile } from '../files.ts';
import { type ChunkedDigest, DEFAULT_CHUNK_SIZE, type Digest, hashFile } from '../hashing.ts';
import { signEnvelope } from '../signing/envelope.ts';
import type { SigningKey } from '../signing/keys.ts';
import { manifestSchema, type OfflineSignatures, type PackageEnvelope } from './manifest.ts';

export type MakeProgress =
  | { phase: 'hashing'; file: string; bytesDone: number; bytesTotal: number }
  | { phase: 'diffing' }
  | { phase: 'writing' };

export interface PackageImage {
  path: string;
  version: string;
  /**
   * The image's digest when it is known already (the server computed it as the upload
   * streamed in): trusted as it is, so the image is not read again to hash it.
   */
  digest?: Digest;
}

export interface PrepareRequest {
  manufacturer: string;
  model: string;
  /** The image devices run now; absent for a full package. */
  from?: PackageImage;
  to: PackageImage & { securityVersion?: number };
  key: SigningKey;
  /** The manufacturer's offline signatures to embed (formatVersion 2); none: formatVersion 1. */
  offline?: OfflineSignatures;
  pool: DeltaPool;
  /** Where a delta is written; the caller removes it once the package is written. */
  deltaPath: string;
  /**
   * When the delta is not worth offering: package the full image instead (someone at a
   * command line asked for one package), or stop there (the server's own full-package
   * job serves that version, so a second full package would only be thrown away).
   */
  fallBackToFull: boolean;
  maxDeltaRatio?: number;
  chunkSize?: number;
  now?: () => Date;
  onProgress?: (event: MakeProgress) => void;
  signal?: AbortSignal;
}

export interface PreparedPackage {
  kind: Payload['kind'];
  envelope: PackageEnvelope;
  /** The payload's bytes: the delta file or the target image. */
  payloadPath: string;
  /** Set when a delta was made but was too large to be worth offering. */
  rejectedDeltaSize?: number;
}

/** No package: the delta was too large to offer and no full fallback was asked for. */
export interface RejectedPackage {
  kind: 'rejected';
  deltaSize: number;
}

export function preparePackage(request: PrepareRequest & { fallBackToFull: true }): Promise<PreparedPackage>;
export function preparePackage(request: PrepareRequest): Promise<PreparedPackage | RejectedPackage>;
export async function preparePackage(request: PrepareRequest): Promise<PreparedPackage | RejectedPackage> {
  const { from, to, onProgress } = request;
  const chunkSize = request.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const hashImage = async (path: string): Promise<ChunkedDigest> => {
    const info = await statInputFile(path, 'image');
    return hashFile(path, { chunkSize, onProgress: (bytesDone) => onProgress?.({ phase: 'hashing', file: path, bytesDone, bytesTotal: info.size }) });
  };
  const source = from ? (from.digest ?? (await hashImage(from.path))) : undefined;
  const hashedTarget = to.digest ? undefined : await hashImage(to.path);

  if (from) onProgress?.({ phase: 'diffing' });
  const deltaRequest = { toPath: to.path, deltaPath: request.deltaPath, pool: request.pool, maxDeltaRatio: request.maxDeltaRatio, chunkSize, signal: request.signal };
  const payload = from && !request.fallBackToFull ? await makeDelta({ ...deltaRequest, fromPath: from.path }) : await makePayload({ ...deltaRequest, fromPath: from?.path, toDigest: hashedTarget });
  if (payload.kind === 'rejected') return payload;
  const target = to.digest ?? hashedTarget ?? payload;
  if (payload.kind === 'full' && (payload.sha256 !== target.sha256 || payload.size !== target.size)) {
    // Only a known digest can differ here: the image's bytes are not the ones recorded.
    throw new AppError('INTEGRITY', `image ${to.path} (${to.version}) has SHA-256 ${payload.sha256} and ${payload.size} bytes, not the recorded ${target.sha256} and ${target.size}; it is damaged`);
  }
  const statement = request.offline?.target.signed;
  if (statement && (statement.sha256 !== target.sha256 || statement.size !== target.size || statement.model !== request.model || statement.version !== to.version)) {
    // Never sign a package that devices requiring the statement would refuse anyway.
    throw new AppError('INTEGRITY', `the target statement vouches for ${statement.model} ${statement.version} (sha256 ${statement.sha256}), not ${request.model} ${to.version} (sha256 ${target.sha256})`);
  }
  const manifest = manifestSchema.parse({
    type: 'fota.package',
    formatVersion: request.offline ? 2 : 1,
    manufacturer: request.manufacturer,
    model: request.model,
    source: from && source && payload.kind === 'bsdiff40' ? { version: from.version, sha256: source.sha256, size: source.size } : null,
    target: { version: to.version, sha256: target.sha256, size: target.size, securityVersion: to.securityVersion ?? 0 },
    payload: { kind: payload.kind, sha256: payload.sha256, size: payload.size, chunkSize: payload.chunkSize, chunks: payload.chunks },
    createdAt: (request.now?.() ?? new Date()).toISOString(),
    ...(request.offline ? { offline: request.offline } : {}),
  });
  return {
    kind: payload.kind,
    envelope: signEnvelope(manifest, [request.key]),
    payloadPath: payload.path,
    ...(payload.rejectedDeltaSize === undefined ? {} : { rejectedDeltaSize: payload.rejectedDeltaSize }),
  };
}
