// The builds and packages lists, newest first, a page at a time. A manufacturer token
// lists only its own manufacturer's builds and packages, as it may only read those one by
// one (api/routes/builds.ts): the scope is a filter of the query, so another
// manufacturer's rows are never read, counted or hinted at by a cursor.
import { z } from 'zod';
import type { Context } from '../context.ts';
import { keysetPage, type Page, pageQuerySchema, pageSchema } from '../store/page.ts';
import { buildsPage, packagesPage } from '../store/queries/lists.ts';
import type { Principal } from '../tokens/tokens.ts';
import { buildViewSchema, nameSchema, packageSummarySchema } from './schemas.ts';

export const buildListQuerySchema = pageQuerySchema.extend({ model: nameSchema.optional(), version: nameSchema.optional() });
export type BuildListQuery = z.infer<typeof buildListQuerySchema>;

export const buildSummarySchema = buildViewSchema.omit({ packages: true, jobs: true });
export type BuildSummary = z.infer<typeof buildSummarySchema>;
export const buildPageSchema = pageSchema(buildSummarySchema);

export const packageListQuerySchema = pageQuerySchema.extend({
  build: z.string().min(1).max(64).optional().describe('build id'),
  model: nameSchema.optional(),
  kind: z.enum(['bsdiff40', 'full']).optional(),
});
export type PackageListQuery = z.infer<typeof packageListQuerySchema>;

export const packageListItemSchema = packageSummarySchema.extend({ buildId: z.string(), model: z.string(), createdAt: z.string() });
export type PackageListItem = z.infer<typeof packageListItemSchema>;
export const packagePageSchema = pageSchema(packageListItemSchema);

/** Whose builds a principal may list: a manufacturer its own, everyone else all. */
const scopeOf = (principal: Principal) => (principal.role === 'manufacturer' ? (principal.manufacturerId ?? 'none') : undefined);

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function listBuilds(ctx: Context, principal: Principal, query: BuildListQuery): Promise<Page<BuildSummary>> {
  const filter = { model: query.model, version: query.version, manufacturerId: scopeOf(principal) };
  return keysetPage(
    'builds',
    query,
    (after, limit) => buildsPage(ctx.db, filter, after, limit),
    (row) => row.id,
    (row) => ({
      id: row.id,
      model: row.model,
      version: row.version,
      sha256: row.sha256,
      size: row.size,
      securityVersion: row.securityVersion,
      status: row.status,
      failureReason: row.failureReason,
      createdAt: new Date(row.createdAt).toISOString(),
      readyAt: iso(row.readyAt),
    }),
  );
}

export function listPackages(ctx: Context, principal: Principal, query: PackageListQuery): Promise<Page<PackageListItem>> {
  const filter = { buildId: query.build, model: query.model, kind: query.kind, manufacturerId: scopeOf(principal) };
  return keysetPage(
    'packages',
    query,
    (after, limit) => packagesPage(ctx.db, filter, after, limit),
    (row) => row.id,
    (row) => ({
      id: row.id,
      buildId: row.buildId,
      model: row.model,
      kind: row.kind,
      fromVersion: row.fromVersion,
      toVersion: row.toVersion,
      size: row.fileSize,
      sha256: row.fileSha256,
      payloadSize: row.payloadSize,
      keyid: row.keyid,
      createdAt: new Date(row.createdAt).toISOString(),
    }),
  );
}
