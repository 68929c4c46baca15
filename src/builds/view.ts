// Read models of builds and packages, as the API and the CLI show them.
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { type PackageRow, findBuild, findPackage, jobsOf, listBuilds, packagesOf } from '../store/queries/builds.ts';
import type { BuildView } from './schemas.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export async function buildView(ctx: Context, id: string): Promise<BuildView> {
  const build = await findBuild(ctx.db, id);
  if (!build) throw new AppError('NOT_FOUND', `no build ${id}`);
  const jobs = { queued: 0, running: 0, done: 0, failed: 0 };
  for (const job of await jobsOf(ctx.db, id)) jobs[job.state] += 1;
  return {
    id: build.id,
    model: build.model,
    version: build.version,
    sha256: build.sha256,
    size: build.size,
    securityVersion: build.securityVersion,
    status: build.status,
    failureReason: build.failureReason,
    createdAt: new Date(build.createdAt).toISOString(),
    readyAt: iso(build.readyAt),
    packages: (await packagesOf(ctx.db, id)).map((p) => ({
      id: p.id,
      kind: p.kind,
      fromVersion: p.fromVersion,
      toVersion: p.toVersion,
      size: p.fileSize,
      sha256: p.fileSha256,
      payloadSize: p.payloadSize,
      keyid: p.keyid,
    })),
    jobs,
  };
}

export async function packageRow(ctx: Context, id: string): Promise<PackageRow> {
  const row = await findPackage(ctx.db, id);
  if (!row) throw new AppError('NOT_FOUND', `no package ${id}`);
  return row;
}

/** The most recent builds of every model, newest first, each as buildView shows it. */
export async function recentBuilds(ctx: Context, limit = 50): Promise<BuildView[]> {
  const views: BuildView[] = [];
  for (const b of await listBuilds(ctx.db, limit)) views.push(await buildView(ctx, b.id));
  return views;
}
