// Reading applications back: one version with its packages, and the list a manufacturer
// (its own) or an operator (all) sees.
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { type AppVersionRow, findAppVersion, listAppVersions, packagesOfApp } from '../store/queries/scomo.ts';
import type { Principal } from '../tokens/tokens.ts';
import type { AppView } from './schemas.ts';

export async function appView(ctx: Context, id: string, principal?: Principal): Promise<AppView> {
  const row = await findAppVersion(ctx.db, id);
  // Another manufacturer's application is as absent as one that does not exist.
  if (!row || (principal?.role === 'manufacturer' && principal.manufacturerId !== row.manufacturerId)) throw new AppError('NOT_FOUND', `no application ${id}`);
  return toView(row, await packagesOfApp(ctx.db, id));
}

export async function listApps(ctx: Context, principal: Principal, filter: { model?: string; component?: string; limit?: number }): Promise<AppView[]> {
  const own = principal.role === 'manufacturer' ? { manufacturerId: principal.manufacturerId ?? '-' } : {};
  const rows = await listAppVersions(ctx.db, { ...own, ...(filter.model ? { model: filter.model } : {}), ...(filter.component ? { component: filter.component } : {}) }, filter.limit ?? 100);
  return Promise.all(rows.map(async (row) => toView(row, await packagesOfApp(ctx.db, row.id))));
}

function toView(row: AppVersionRow, packages: Awaited<ReturnType<typeof packagesOfApp>>): AppView {
  return {
    id: row.id,
    model: row.model,
    component: row.component,
    version: row.version,
    sha256: row.sha256,
    size: row.size,
    createdAt: new Date(row.createdAt).toISOString(),
    packages: packages.map((p) => ({ id: p.id, kind: p.kind, fromVersion: p.fromVersion, size: p.fileSize })),
  };
}
