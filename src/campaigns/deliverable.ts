// The checks a build passes before devices are sent it, by a campaign's start or by a
// release: it is ready, has a full package to fall back on, and lowers no device's security
// version (the device would refuse such a package with FUMO 405, so it is refused here, up
// front, with the versions it would downgrade).
import { AppError } from '../errors.ts';
import { type BuildRow, findBuild, packagesOf, type PackageRow } from '../store/queries/builds.ts';
import type { CohortFilter } from '../store/queries/campaigns.ts';
import type { Tx } from '../store/store.ts';
import { securityHeldVersions } from './security-hold.ts';

export async function deliverableBuild(tx: Tx, buildId: string, purpose: string): Promise<{ build: BuildRow & { model: string }; packages: PackageRow[] }> {
  const build = await findBuild(tx, buildId);
  if (!build) throw new AppError('NOT_FOUND', `no build ${buildId}`);
  if (build.status !== 'ready') throw new AppError('CONFLICT', `build ${build.id} is ${build.status}; ${purpose} once its packages are ready`);
  const packages = await packagesOf(tx, build.id);
  if (!packages.some((p) => p.kind === 'full')) throw new AppError('CONFLICT', `build ${build.id} has no full package to fall back on`);
  return { build, packages };
}

/** Refuses a build whose security version is below that of a build the cohort runs. */
export async function refuseSecurityDowngrade(tx: Tx, build: BuildRow & { model: string }, filter: CohortFilter): Promise<void> {
  const higher = [...(await securityHeldVersions(tx, build, filter))].map(([version, sv]) => `${version} (security version ${sv})`);
  if (higher.length > 0) {
    throw new AppError('CONFLICT', `build ${build.id} has security version ${build.securityVersion}; devices of this cohort run ${higher.join(', ')}, and a device refuses a downgrade`);
  }
}
