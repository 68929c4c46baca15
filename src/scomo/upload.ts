// A manufacturer uploads an application version: the bytes stream into the artifact store
// (bounded by MAX_APP_BYTES), then its signed packages are made at once (applications are
// small, unlike firmware images: no job queue): the full package, and a bsdiff delta from
// each of the component's recent versions where the delta pays (the firmware rule:
// delta/payload.ts). One transaction records the version, its packages and the audit.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { discardUnreferenced } from '../artifacts/discard-unreferenced.ts';
import type { Context } from '../context.ts';
import { makeDelta } from '../delta/payload.ts';
import { AppError } from '../errors.ts';
import { DEFAULT_CHUNK_SIZE, hashFile } from '../hashing.ts';
import { signingKeyFor } from '../manufacturers/signing-keys.ts';
import { type AppEnvelope, appFileBytes, appManifestSchema } from '../packages/app-manifest.ts';
import { signEnvelope } from '../signing/envelope.ts';
import type { SigningKey } from '../signing/keys.ts';
import { newId } from '../store/ids.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { findManufacturerById, findModelByName, findOrInsertModel } from '../store/queries/manufacturers.ts';
import { type AppPackageRow, type AppVersionRow, findAppVersionOf, insertAppPackages, insertAppVersion, versionsOfComponent } from '../store/queries/scomo.ts';
import type { Tx } from '../store/store.ts';
import { auditActor, type Principal } from '../tokens/tokens.ts';
import type { AppUploadQuery } from './schemas.ts';
import { appView } from './view.ts';
import type { AppView } from './schemas.ts';

/** Largest application accepted: packages are made in the request and held in memory. */
export const MAX_APP_BYTES = 64 * 1024 * 1024;
/** Deltas are made from this many of the component's newest earlier versions. */
const DELTA_SOURCES = 3;

export async function uploadApp(ctx: Context, principal: Principal, query: AppUploadQuery, body: AsyncIterable<Uint8Array> | Readable): Promise<AppView> {
  const manufacturerId = principal.manufacturerId;
  if (principal.role !== 'manufacturer' || !manufacturerId) throw new AppError('FORBIDDEN', 'only a manufacturer uploads applications');
  await assertModelOwned(ctx.db, manufacturerId, query.model);
  if (await findAppVersionOf(ctx.db, query.model, query.component, query.version)) throw conflict(query);
  const manufacturer = await findManufacturerById(ctx.db, manufacturerId);
  if (!manufacturer) throw new AppError('NOT_FOUND', 'this token names no manufacturer');

  const stored = await ctx.artifacts.put(body, { maxBytes: MAX_APP_BYTES });
  const made: string[] = [];
  try {
    if (stored.size === 0) throw new AppError('TOO_LARGE', 'the upload is empty; send the application as the request body');
    const now = ctx.clock.now();
    const id = newId('app');
    const previous = (await versionsOfComponent(ctx.db, query.model, query.component)).slice(0, DELTA_SOURCES);
    const key = await signingKeyFor(ctx, manufacturerId, auditActor(principal));
    const packages = await makePackages(ctx, { id, manufacturer: manufacturer.name, query, sha256: stored.sha256, size: stored.size, previous, key, now });
    made.push(...packages.map((p) => p.fileSha256));
    await ctx.db.transaction(async (tx) => {
      // Created if new; on a race of two first uploads, the other's row, checked like any.
      const model = await findOrInsertModel(tx, manufacturerId, query.model, now);
      if (model.manufacturerId !== manufacturerId) throw new AppError('FORBIDDEN', `model ${query.model} belongs to another manufacturer`);
      // Again inside: two uploads of one version race here.
      if (await findAppVersionOf(tx, query.model, query.component, query.version)) throw conflict(query);
      await insertAppVersion(tx, { id, manufacturerId, model: query.model, component: query.component, version: query.version, sha256: stored.sha256, size: stored.size, createdBy: principal.personId, createdAt: now });
      await insertAppPackages(tx, packages);
      await recordAudit(tx, { ...auditActor(principal), action: 'app.upload', subject: id, details: { model: query.model, component: query.component, version: query.version, sha256: stored.sha256, size: stored.size, deltasFrom: packages.flatMap((p) => (p.fromVersion ? [p.fromVersion] : [])) } }, now);
    });
    ctx.log.info({ appId: id, model: query.model, component: query.component, version: query.version, packages: packages.length }, 'application uploaded');
    return appView(ctx, id);
  } catch (err) {
    for (const sha256 of [stored.sha256, ...made]) await discardUnreferenced(ctx, sha256);
    throw err;
  }
}

function conflict(query: AppUploadQuery): AppError {
  return new AppError('CONFLICT', `model ${query.model} already has ${query.component} ${query.version}`);
}

async function assertModelOwned(tx: Tx, manufacturerId: string, name: string): Promise<void> {
  const model = await findModelByName(tx, name);
  if (model && model.manufacturerId !== manufacturerId) throw new AppError('FORBIDDEN', `model ${name} belongs to another manufacturer`);
}

interface PackageInput {
  id: string;
  manufacturer: string;
  query: AppUploadQuery;
  sha256: string;
  size: number;
  previous: AppVersionRow[];
  key: SigningKey;
  now: number;
}

/** The full package and the deltas worth offering, each signed and stored as a .fota file. */
async function makePackages(ctx: Context, input: PackageInput): Promise<AppPackageRow[]> {
  const dir = join(ctx.workDir, `${input.id}-packages`);
  await mkdir(dir, { recursive: true });
  const target = await ctx.artifacts.localCopy(input.sha256, dir);
  try {
    const targetBytes = await readFile(target.path);
    const targetDigest = await hashFile(target.path, { chunkSize: DEFAULT_CHUNK_SIZE });
    const rows: AppPackageRow[] = [];
    const sign = async (payloadBytes: Uint8Array, payload: typeof targetDigest & { kind: 'bsdiff40' | 'full' }, source: AppVersionRow | null) => {
      const manifest = appManifestSchema.parse({
        type: 'fota.package',
        formatVersion: 1,
        kind: 'application',
        manufacturer: input.manufacturer,
        model: input.query.model,
        component: { id: input.query.component, version: input.query.version },
        source: source ? { version: source.version, sha256: source.sha256, size: source.size } : null,
        target: { version: input.query.version, sha256: input.sha256, size: input.size },
        payload: { kind: payload.kind, sha256: payload.sha256, size: payload.size, chunkSize: payload.chunkSize, chunks: payload.chunks },
        createdAt: new Date(input.now).toISOString(),
      });
      const envelope: AppEnvelope = signEnvelope(manifest, [input.key]);
      const file = await ctx.artifacts.put(Readable.from([appFileBytes(envelope, payloadBytes)]));
      rows.push({ id: newId('apk'), appVersionId: input.id, kind: payload.kind, fromVersion: source?.version ?? null, fileSha256: file.sha256, fileSize: file.size, payloadSize: payload.size, envelope: JSON.stringify(envelope), keyid: input.key.keyid, createdAt: input.now });
    };
    await sign(targetBytes, { ...targetDigest, kind: 'full' }, null);
    for (const source of input.previous) {
      const base = await ctx.artifacts.localCopy(source.sha256, dir);
      try {
        const deltaPath = join(dir, `${source.id}.bsdiff`);
        const delta = await makeDelta({ fromPath: base.path, toPath: target.path, deltaPath, pool: ctx.pool, maxDeltaRatio: ctx.config.maxDeltaRatio });
        if (delta.kind === 'bsdiff40') await sign(await readFile(deltaPath), delta, source);
      } finally {
        await base.release();
      }
    }
    return rows;
  } finally {
    await target.release();
    await rm(dir, { recursive: true, force: true });
  }
}
