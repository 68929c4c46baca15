// The device-side checks, in the order of the design, each failure a FUMO result code:
//   signature (404) -> model (403) -> source image hash (403) -> security version (405)
//   -> payload hash and chunk hashes (402) -> patched image hash (410, in apply.ts).
// Outcomes are values ({ok: false, resultCode, reason}); only broken I/O throws.
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { ChunkHasher, type ChunkedDigest } from '../hashing.ts';
import { verifyEnvelope, type Envelope, type TrustPolicy } from '../signing/envelope.ts';
import { type FotaFile, PackageFormatError, readFotaFile } from './fota-file.ts';
import { FumoResult } from '../omadm/fumo-results.ts';
import { manifestSchema, type Manifest } from './manifest.ts';
import { checkOfflineSignatures } from './offline-check.ts';
import type { RootEnvelope } from '../signing/offline-root.ts';

/** The FUMO results the package checks give, in the order they run (docs/formats.md, "FUMO result codes"). */
export type PackageCheckCode = (typeof FumoResult)['SignatureFailed' | 'PackageMismatch' | 'NotAcceptable' | 'CorruptedPackage' | 'UpdateFailed'];
export type Rejection = { ok: false; resultCode: PackageCheckCode; reason: string };
export type Verdict<T> = ({ ok: true } & T) | Rejection;

/** What the device knows about itself. Unset fields are not checked. */
export interface DeviceFacts {
  model?: string;
  /** SHA-256 of the image currently installed (the base a delta must apply to). */
  currentSha256?: string;
  securityVersion?: number;
  /** DevDetail/HwV: a target statement that lists hardware versions must list this one. */
  hardwareVersion?: string;
}

function reject(resultCode: Rejection['resultCode'], reason: string): Rejection {
  return { ok: false, resultCode, reason };
}

/**
 * Signature first: nothing in the manifest is looked at before a trusted key vouches for
 * it; then, on a device that pins the manufacturer's offline keys, their statement over
 * the target (404 too). `root` is a newer root of offline keys the package's rotations
 * led to, for the device to keep.
 */
export function checkEnvelope(envelope: Envelope<Record<string, unknown>>, trust: TrustPolicy): Verdict<{ manifest: Manifest; keyids: string[]; root?: RootEnvelope }> {
  const signatures = verifyEnvelope(envelope, trust);
  if (!signatures.ok) return reject(FumoResult.SignatureFailed, `signature check failed: ${signatures.reason}`);
  const parsed = manifestSchema.safeParse(envelope.signed);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return reject(FumoResult.CorruptedPackage, `manifest is invalid: ${issue ? `${issue.path.join('.')} ${issue.message}` : 'bad shape'}`);
  }
  const offline = checkOfflineSignatures(parsed.data, trust);
  if (!offline.ok) return offline;
  return { ok: true, manifest: parsed.data, keyids: signatures.keyids, ...(offline.root ? { root: offline.root } : {}) };
}

export function checkApplicability(manifest: Manifest, device: DeviceFacts): Verdict<object> {
  if (device.model !== undefined && manifest.model !== device.model) {
    return reject(FumoResult.PackageMismatch, `package is for model ${manifest.model}, this device is ${device.model}`);
  }
  if (manifest.source && device.currentSha256 !== undefined && manifest.source.sha256 !== device.currentSha256) {
    return reject(
      FumoResult.PackageMismatch,
      `package patches version ${manifest.source.version} (sha256 ${manifest.source.sha256.slice(0, 12)}…), but the base image has sha256 ${device.currentSha256.slice(0, 12)}…`,
    );
  }
  const hardware = manifest.offline?.target.signed.hardware ?? [];
  if (device.hardwareVersion !== undefined && hardware.length > 0 && !hardware.includes(device.hardwareVersion)) {
    return reject(FumoResult.PackageMismatch, `the image is for hardware ${hardware.join(', ')}, this device is ${device.hardwareVersion}`);
  }
  const own = device.securityVersion ?? 0;
  if (manifest.target.securityVersion < own) {
    return reject(FumoResult.NotAcceptable, `package security version ${manifest.target.securityVersion} is below the device's ${own} (downgrade refused)`);
  }
  return { ok: true };
}

export function checkPayloadDigest(manifest: Manifest, got: ChunkedDigest): Verdict<object> {
  const want = manifest.payload;
  if (got.size !== want.size) return reject(FumoResult.CorruptedPackage, `payload is ${got.size} bytes, the manifest says ${want.size}`);
  const bad = want.chunks.findIndex((hash, i) => got.chunks[i] !== hash);
  if (bad >= 0) return reject(FumoResult.CorruptedPackage, `payload chunk ${bad + 1} of ${want.chunks.length} does not match its hash`);
  if (got.sha256 !== want.sha256) return reject(FumoResult.CorruptedPackage, 'payload SHA-256 does not match the manifest');
  return { ok: true };
}

export function checkTargetDigest(manifest: Manifest, got: { sha256: string; size: number }): Verdict<object> {
  if (got.size !== manifest.target.size || got.sha256 !== manifest.target.sha256) {
    return reject(FumoResult.UpdateFailed, `patched image (sha256 ${got.sha256.slice(0, 12)}…, ${got.size} bytes) is not target version ${manifest.target.version}`);
  }
  return { ok: true };
}

/** Hashes the payload of a `.fota` file, copying it to `copyTo` on the way when given. */
export async function hashPayload(file: FotaFile, chunkSize: number, copyTo?: string): Promise<ChunkedDigest> {
  const hasher = new ChunkHasher(chunkSize);
  const source = createReadStream(file.path, { start: file.payloadOffset, highWaterMark: 1024 * 1024 });
  const sink = copyTo
    ? createWriteStream(copyTo, { flags: 'wx' })
    : new Writable({ write: (_piece, _encoding, done) => done() });
  await pipeline(
    source,
    async function* (pieces: AsyncIterable<Buffer>) {
      for await (const piece of pieces) {
        hasher.update(piece);
        yield piece;
      }
    },
    sink,
  );
  return hasher.digest();
}

export interface VerifyFileOptions {
  trust: TrustPolicy;
  device?: DeviceFacts;
  /** Where to keep a copy of the payload that was checked (the bytes later patched). */
  copyPayloadTo?: string;
}

/** Reads and checks a `.fota` file up to and including the payload hash. */
export async function verifyFotaFile(path: string, options: VerifyFileOptions): Promise<Verdict<{ manifest: Manifest; keyids: string[]; root?: RootEnvelope }>> {
  let file: FotaFile;
  try {
    file = await readFotaFile(path);
  } catch (err) {
    if (err instanceof PackageFormatError) return reject(FumoResult.CorruptedPackage, err.message);
    throw err;
  }
  const envelope = checkEnvelope(file.envelope, options.trust);
  if (!envelope.ok) return envelope;
  const applicable = checkApplicability(envelope.manifest, options.device ?? {});
  if (!applicable.ok) return applicable;
  if (file.payloadSize !== envelope.manifest.payload.size) {
    return reject(FumoResult.CorruptedPackage, `payload is ${file.payloadSize} bytes, the manifest says ${envelope.manifest.payload.size} (truncated or padded file)`);
  }
  const digest = await hashPayload(file, envelope.manifest.payload.chunkSize, options.copyPayloadTo);
  const payload = checkPayloadDigest(envelope.manifest, digest);
  if (!payload.ok) return payload;
  return envelope;
}
