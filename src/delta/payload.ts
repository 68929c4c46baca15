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

export interface DeltaRequest {
  fromPath: string;
  toPath: string;
  /** Where a delta is written (a file the caller owns and removes). */
  deltaPath: string;
  pool: DeltaPool;
  maxDeltaRatio?: number;
  chunkSize?: number;
  signal?: AbortSignal;
}

export interface PayloadRequest extends Omit<DeltaRequest, 'fromPath'> {
  /** The device's current image; absent for a full package. */
  fromPath?: string;
  /**
   * The target image's digest in slices of `chunkSize`, when the caller has it already
   * (it hashed the image for the manifest): a full payload then needs no second pass.
   */
  toDigest?: ChunkedDigest;
}

export interface Payload extends ChunkedDigest {
  kind: PayloadKind;
  /** The payload bytes: the delta file, or the target image itself for a full payload. */
  path: string;
  /** Size of the delta that was made and set aside for a full image, if that happened. */
  rejectedDeltaSize?: number;
}

/** A delta too large to be worth offering; its file is already removed. */
export interface RejectedDelta {
  kind: 'rejected';
  deltaSize: number;
}

/**
 * Only the delta: when it is not worth offering, says so without touching the full image,
 * for a caller (the server's package jobs) whose full package is made elsewhere.
 */
export async function makeDelta(request: DeltaRequest): Promise<Payload | RejectedDelta> {
  await request.pool.diff(request.fromPath, request.toPath, request.deltaPath, { signal: request.signal });
  const [delta, image] = await Promise.all([stat(request.deltaPath), stat(request.toPath)]);
  if (choosePayloadKind(delta.size, image.size, request.maxDeltaRatio) === 'full') {
    await rm(request.deltaPath, { force: true });
    return { kind: 'rejected', deltaSize: delta.size };
  }
  return { kind: 'bsdiff40', path: request.deltaPath, ...(await hashFile(request.deltaPath, { chunkSize: request.chunkSize ?? DEFAULT_CHUNK_SIZE })) };
}

/** A delta when it is worth it, else the full image. */
export async function makePayload(request: PayloadRequest): Promise<Payload> {
  const chunkSize = request.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const known = request.toDigest?.chunkSize === chunkSize ? request.toDigest : undefined;
  const full = async (rejectedDeltaSize?: number): Promise<Payload> => ({
    kind: 'full',
    path: request.toPath,
    ...(rejectedDeltaSize === undefined ? {} : { rejectedDeltaSize }),
    ...(known ?? (await hashFile(request.toPath, { chunkSize }))),
  });
  if (request.fromPath === undefined) return full();
  const delta = await makeDelta({ ...request, fromPath: request.fromPath });
  return delta.kind === 'rejected' ? full(delta.deltaSize) : delta;
}
