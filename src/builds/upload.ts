// A manufacturer uploads a build: the image streams into the artifact store while being
// hashed (never held in memory), then one transaction records the build and queues its
// package jobs (the full image plus a delta from each chosen earlier build). Bytes that
// end up recorded by no row (a lost race for the version) are removed again.
import type { Readable } from 'node:stream';
import { discardUnreferenced } from '../artifacts/discard-unreferenced.ts';
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import type { StoredObject } from '../store/artifacts/artifact-store.ts';
import { newId } from '../store/ids.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { deltaSourcesFor, findBuildByVersion, insertBuild, insertJobs } from '../store/queries/builds.ts';
import { findModelByName, findOrInsertModel, type ModelRow } from '../store/queries/manufacturers.ts';
import type { Tx } from '../store/store.ts';
import { auditActor, type Principal } from '../tokens/tokens.ts';
import { offlineTrustOf } from '../manufacturers/offline-keys.ts';
import type { TargetEnvelope } from '../signing/target-statement.ts';
import { insertBuildStatement } from '../store/queries/offline-signing.ts';
import type { UploadQuery } from './schemas.ts';
import { checkStatementBeforeUpload, checkStatementDigest } from './target-check.ts';
import { roomForUpload } from './upload-heap.ts';

export interface UploadResult {
  id: string;
  status: 'processing';
  jobs: number;
}

/** The model as found (or created), refused when it is another manufacturer's. */
function ownModel<M extends ModelRow | undefined>(principal: Principal, name: string, model: M): M {
  if (model && model.manufacturerId !== principal.manufacturerId) {
    throw new AppError('FORBIDDEN', `model ${name} belongs to another manufacturer`);
  }
  return model;
}

export async function uploadBuild(
  ctx: Context,
  principal: Principal,
  query: UploadQuery,
  body: AsyncIterable<Uint8Array> | Readable,
  onProgress?: (bytes: number) => void,
  statement?: TargetEnvelope,
): Promise<UploadResult> {
  const manufacturerId = principal.manufacturerId;
  if (principal.role !== 'manufacturer' || !manufacturerId) throw new AppError('FORBIDDEN', 'only a manufacturer uploads builds');
  // Cheap checks before the bytes arrive, so a duplicate is refused without reading 2 GB.
  const existing = ownModel(principal, query.model, await findModelByName(ctx.db, query.model));
  if (existing && (await findBuildByVersion(ctx.db, existing.id, query.version))) {
    throw new AppError('CONFLICT', `model ${query.model} already has a build ${query.version}`);
  }
  const offline = await offlineTrustOf(ctx.db, manufacturerId);
  checkStatementBeforeUpload({ manufacturer: principal.manufacturer ?? manufacturerId, query, statement, trust: offline.trust, required: offline.required, now: ctx.clock.now() });
  const securityVersion = query.securityVersion ?? statement?.signed.securityVersion;
  // While the body streams in, V8 may let the old generation grow (upload-heap.ts).
  const heapBack = roomForUpload();
  const stored = await ctx.artifacts.put(body, { maxBytes: ctx.config.maxUploadBytes, onProgress }).finally(heapBack);
  let recorded: { id: string; jobs: number };
  try {
    checkStatementDigest(statement, stored);
    recorded = await record(ctx, { principal, manufacturerId, query: { ...query, ...(securityVersion === undefined ? {} : { securityVersion }) }, stored, statement });
  } catch (err) {
    // No row holds these bytes: a 409 from a lost race, or a refusal after they arrived.
    await discardUnreferenced(ctx, stored.sha256);
    throw err;
  }
  // Once the answer is on its way: woken now, the runner claimed and started the package
  // jobs (a transaction, files opened) before the 202 left, a few ms of every upload's time.
  setImmediate(() => ctx.signals.emit({ kind: 'jobs-queued' }));
  ctx.log.info({ buildId: recorded.id, model: query.model, version: query.version, size: stored.size, jobs: recorded.jobs }, 'build uploaded');
  return { id: recorded.id, status: 'processing', jobs: recorded.jobs };
}

interface StoredUpload {
  principal: Principal;
  manufacturerId: string;
  query: UploadQuery;
  stored: StoredObject;
  statement: TargetEnvelope | undefined;
}

/** The build, its package jobs and the audit event, in one transaction. */
async function record(ctx: Context, { principal, manufacturerId, query, stored, statement }: StoredUpload): Promise<{ id: string; jobs: number }> {
  if (stored.size === 0) throw new AppError('TOO_LARGE', 'the upload is empty; send the image as the request body');
  const now = ctx.clock.now();
  const id = newId('bld');
  const jobs = await ctx.db.transaction(async (tx) => {
    // Created if new; on a race of two first uploads, the other's row (store/queries/manufacturers.ts).
    const model = ownModel(principal, query.model, await findOrInsertModel(tx, manufacturerId, query.model, now));
    // Checked again inside the transaction: two concurrent uploads of one version race here.
    if (await findBuildByVersion(tx, model.id, query.version)) throw new AppError('CONFLICT', `model ${query.model} already has a build ${query.version}`);
    await insertBuild(tx, { id, modelId: model.id, version: query.version, sha256: stored.sha256, size: stored.size, securityVersion: query.securityVersion ?? 0, status: 'processing', createdAt: now });
    if (statement) await insertBuildStatement(tx, { buildId: id, envelope: JSON.stringify(statement) });
    const sources = await deltaSourcesFor(tx, model, id, ctx.config.deltaSources);
    await insertJobs(tx, [
      { id: newId('job'), buildId: id, sourceBuildId: null, state: 'queued', createdAt: now },
      ...sources.map((source) => ({ id: newId('job'), buildId: id, sourceBuildId: source.id, state: 'queued' as const, createdAt: now })),
    ]);
    await recordAudit(tx, { ...auditActor(principal), action: 'build.upload', subject: id, details: { model: query.model, version: query.version, sha256: stored.sha256, size: stored.size, deltaSources: sources.map((s) => s.version), ...(statement ? { targetStatement: statement.signatures.map((s) => s.keyid) } : {}) } }, now);
    return sources.length + 1;
  });
  return { id, jobs };
}
