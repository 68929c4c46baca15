// One package job: fetch the target image (and the source image for a delta) from the
// artifact store, make and sign the package, and stream the .fota file into the store. It
// writes nothing to the database; the runner records the result in one transaction
// afterwards. The images' digests come from their build rows (computed as each upload
// streamed in), so a job reads an image only where the bytes are needed: bsdiff's input,
// and the full package's payload. A delta not worth offering ends the job with a note:
// the build's full-package job serves that version.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Context } from '../../context.ts';
import { AppError } from '../../errors.ts';
import { signingKeyFor } from '../../manufacturers/signing-keys.ts';
import { findBuild, type JobRow, type PackageRow } from '../../store/queries/builds.ts';
import { findManufacturerById } from '../../store/queries/manufacturers.ts';
import { SYSTEM_ACTOR } from '../../tokens/tokens.ts';
import { fotaFileBytes } from '../fota-file.ts';
import { preparePackage } from '../prepare.ts';
import { offlineSignaturesFor } from './offline-signatures.ts';

export type JobOutcome =
  | { package: Omit<PackageRow, 'id' | 'createdAt'> }
  /** The delta was not worth offering; devices on that version get the full image. */
  | { note: string };

export async function runPackageJob(ctx: Context, job: JobRow, signal: AbortSignal): Promise<JobOutcome> {
  const build = await findBuild(ctx.db, job.buildId);
  const source = job.sourceBuildId ? await findBuild(ctx.db, job.sourceBuildId) : undefined;
  if (!build || (job.sourceBuildId && !source)) throw new AppError('NOT_FOUND', `job ${job.id} refers to a build that does not exist`);
  const manufacturer = await findManufacturerById(ctx.db, build.manufacturerId);
  if (!manufacturer) throw new AppError('NOT_FOUND', `build ${build.id} has no manufacturer`);
  const key = await signingKeyFor(ctx, manufacturer.id, { actor: SYSTEM_ACTOR });
  const offline = await offlineSignaturesFor(ctx, build.id, manufacturer.id);

  // One directory per attempt: a runner that lost its lease may still be working in its own.
  const dir = join(ctx.workDir, `${job.id}-${job.attempts}-${job.leaseOwner ?? 'local'}`);
  await mkdir(dir, { recursive: true });
  const target = await ctx.artifacts.localCopy(build.sha256, dir);
  const base = source ? await ctx.artifacts.localCopy(source.sha256, dir) : undefined;
  try {
    const made = await preparePackage({
      manufacturer: manufacturer.name,
      model: build.model,
      ...(source && base ? { from: { path: base.path, version: source.version, digest: { sha256: source.sha256, size: source.size } } } : {}),
      to: { path: target.path, version: build.version, securityVersion: build.securityVersion, digest: { sha256: build.sha256, size: build.size } },
      key,
      ...(offline ? { offline } : {}),
      deltaPath: join(dir, 'payload.bsdiff'),
      fallBackToFull: false,
      pool: ctx.pool,
      maxDeltaRatio: ctx.config.maxDeltaRatio,
      now: () => new Date(ctx.clock.now()),
      signal,
    });
    if (made.kind === 'rejected') {
      return { note: `delta from ${source?.version ?? job.sourceBuildId} (${made.deltaSize} bytes) exceeds ${ctx.config.maxDeltaRatio} of the image; the full package serves that version` };
    }
    const file = fotaFileBytes(made.envelope, made.payloadPath);
    const stored = await ctx.artifacts.put(file.bytes, { signal });
    const manifest = made.envelope.signed;
    return {
      package: {
        buildId: build.id,
        sourceBuildId: source?.id ?? null,
        kind: manifest.payload.kind,
        fromVersion: manifest.source?.version ?? null,
        toVersion: manifest.target.version,
        fileSha256: stored.sha256,
        fileSize: stored.size,
        payloadSha256: manifest.payload.sha256,
        payloadSize: manifest.payload.size,
        payloadOffset: file.layout.payloadOffset,
        envelope: JSON.stringify(made.envelope),
        keyid: key.keyid,
      },
    };
  } finally {
    await Promise.all([target.release(), base?.release()]);
    await rm(dir, { recursive: true, force: true });
  }
}
