// Decides what a package carries: a BSDIFF40 delta when it is small enough to be worth it,
// else the full target image. A delta above `maxDeltaRatio` of the image saves too little
// to justify the device's patching work and the risk of a base mismatch.
import { rm, stat } from 'node:fs/promises';
import { hashFile, type ChunkedDigest, DEFAULT_CHUNK_SIZE } from '../hashing.ts';
import type { DeltaPool } from './pool.ts';

export type PayloadKind = 'bsdiff40' | 'full';
export const DEFAULT_MAX_DELTA_RATIO = 0.6;

export function choosePayloadKind(deltaSize: number, fullSize: number, maxDeltaRatio = DEFAULT_MAX_DELTA_RATIO): PayloadKind {
  return deltaSize <= fullSize * maxDeltaRatio ? 'bsdiff40' : 'full';
}

export interface PayloadRequest {
  /** The device's current image; absent for a full package. */
  fromPath?: string;
  toPath: string;
  /** Where a delta is written (a file the caller owns and removes). */
  deltaPath: string;
  pool: DeltaPool;
  maxDeltaRatio?: number;
  chunkSize?: number;
  signal?: AbortSignal;
}

export interface Payload extends ChunkedDigest {
  kind: PayloadKind;
  /** The payload bytes: the delta file, or the target image itself for a full payload. */
  path: string;
  /** Size of the delta that was made and set aside for a full image, if that happened. */
  rejectedDeltaSize?: number;
}

export async function makePayload(request: PayloadRequest): Promise<Payload> {
  const chunkSize = request.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const full = async (rejectedDeltaSize?: number): Promise<Payload> => ({
    kind: 'full',
    path: request.toPath,
    ...(rejectedDeltaSize === undefined ? {} : { rejectedDeltaSize }),
    ...(await hashFile(request.toPath, { chunkSize })),
  });
  if (request.fromPath === undefined) return full();
  await request.pool.diff(request.fromPath, request.toPath, request.deltaPath, { signal: request.signal });
  const [delta, image] = await Promise.all([stat(request.deltaPath), stat(request.toPath)]);
  if (choosePayloadKind(delta.size, image.size, request.maxDeltaRatio) === 'full') {
    await rm(request.deltaPath, { force: true });
    return full(delta.size);
  }
  return { kind: 'bsdiff40', path: request.deltaPath, ...(await hashFile(request.deltaPath, { chunkSize })) };
}
