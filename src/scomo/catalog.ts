// What the console shows of applications: the catalogue a page at a time (each version
// with its size, signing keys, the versions it has deltas from, when and by whom it was
// uploaded), and one model's baseline with the versions a baseline may name. Reads only:
// uploads and baselines are written by upload.ts and baseline.ts.
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { appVersionsOfModel, appVersionsPage, displayNameOf, modelsWithBaselines, packagesOfApps } from '../store/queries/app-catalog.ts';
import { findBaseline } from '../store/queries/scomo.ts';
import { findManufacturerById, findModelByName } from '../store/queries/manufacturers.ts';
import type { Principal } from '../tokens/tokens.ts';
import { type Baseline, baselineSchema } from './schemas.ts';

export interface CatalogEntry {
  id: string;
  model: string;
  manufacturer: string;
  component: string;
  version: string;
  sha256: string;
  size: number;
  /** Key ids that signed its packages. */
  signers: string[];
  /** The versions a device can update from with a delta. */
  deltasFrom: string[];
  packages: number;
  uploadedAt: string;
  uploadedBy: string;
}

export interface CatalogPage {
  items: CatalogEntry[];
  /** The id to pass as `before` for the next page; null on the last page. */
  next: string | null;
}

/** Newest first; a manufacturer sees only its own applications. */
export async function appCatalogPage(ctx: Context, principal: Principal, filter: { model?: string | undefined; component?: string | undefined }, before: string | undefined, limit: number): Promise<CatalogPage> {
  const own = principal.role === 'manufacturer' ? { manufacturerId: principal.manufacturerId ?? '-' } : {};
  const rows = await appVersionsPage(ctx.db, { ...filter, ...own }, before, limit + 1);
  const shown = rows.slice(0, limit);
  const packages = await packagesOfApps(
    ctx.db,
    shown.map((r) => r.id),
  );
  const items = shown.map((r): CatalogEntry => {
    const mine = packages.filter((p) => p.appVersionId === r.id);
    return {
      id: r.id,
      model: r.model,
      manufacturer: r.manufacturer,
      component: r.component,
      version: r.version,
      sha256: r.sha256,
      size: r.size,
      signers: [...new Set(mine.map((p) => p.keyid))],
      deltasFrom: mine.flatMap((p) => (p.kind === 'bsdiff40' && p.fromVersion ? [p.fromVersion] : [])),
      packages: mine.length,
      uploadedAt: new Date(r.createdAt).toISOString(),
      // Uploads made before people existed name a token id: shown as it is.
      uploadedBy: r.uploaderName ?? r.createdBy,
    };
  });
  return { items, next: rows.length > limit ? (shown.at(-1)?.id ?? null) : null };
}

export interface ModelBaselineSummary {
  model: string;
  manufacturer: string;
  baseline: Baseline | null;
  updatedAt: string | null;
}

const MODELS_LISTED = 500;

/** Every model, with its baseline where one is set. */
export async function baselineSummaries(ctx: Context): Promise<ModelBaselineSummary[]> {
  const rows = await modelsWithBaselines(ctx.db, MODELS_LISTED);
  return rows.map((r) => ({ model: r.model, manufacturer: r.manufacturer, baseline: r.spec === null ? null : baselineSchema.parse(JSON.parse(r.spec)), updatedAt: r.updatedAt === null ? null : new Date(r.updatedAt).toISOString() }));
}

export interface ModelBaseline extends ModelBaselineSummary {
  updatedBy: string | null;
  /** Uploaded versions of the model's applications, newest first within each component. */
  versions: Array<{ component: string; version: string }>;
}

const VERSIONS_LISTED = 1000;

/** One model's baseline (null when none is set yet) and what it may name; NOT_FOUND for an unknown model. */
export async function modelBaseline(ctx: Context, model: string): Promise<ModelBaseline> {
  const owner = await findModelByName(ctx.db, model);
  if (!owner) throw new AppError('NOT_FOUND', `no model ${model}`);
  const manufacturer = await findManufacturerById(ctx.db, owner.manufacturerId);
  const row = await findBaseline(ctx.db, model);
  return {
    model,
    manufacturer: manufacturer?.name ?? owner.manufacturerId,
    baseline: row ? baselineSchema.parse(JSON.parse(row.spec)) : null,
    updatedAt: row ? new Date(row.updatedAt).toISOString() : null,
    updatedBy: row ? ((await displayNameOf(ctx.db, row.updatedBy)) ?? row.updatedBy) : null,
    versions: await appVersionsOfModel(ctx.db, model, VERSIONS_LISTED),
  };
}

/** The uploaded versions of a model's applications (what an install may name); empty for a model with none. */
export async function versionsForModel(ctx: Context, model: string): Promise<Array<{ component: string; version: string }>> {
  return appVersionsOfModel(ctx.db, model, VERSIONS_LISTED);
}
