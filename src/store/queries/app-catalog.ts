// Reads for the console's application pages: application versions a page at a time with
// who uploaded them and their packages' signers, the models (with their baselines), and a
// model's devices with the application inventory last read from each. Reads only; the
// writes stay in scomo.ts. Written once for both dialects, in id order on an index.
import { and, asc, desc, eq, gt, inArray, lt } from 'drizzle-orm';
import type { Tx } from '../store.ts';

export interface AppCatalogFilter {
  model?: string | undefined;
  component?: string | undefined;
  /** A manufacturer sees only its own applications. */
  manufacturerId?: string | undefined;
}

/** Application versions, newest first (ids are time-prefixed), strictly before `before`. */
export async function appVersionsPage(tx: Tx, filter: AppCatalogFilter, before: string | undefined, limit: number) {
  const { appVersions, manufacturers, people } = tx.t;
  return tx.q
    .select({
      id: appVersions.id,
      model: appVersions.model,
      component: appVersions.component,
      version: appVersions.version,
      sha256: appVersions.sha256,
      size: appVersions.size,
      createdAt: appVersions.createdAt,
      createdBy: appVersions.createdBy,
      uploaderName: people.displayName,
      manufacturer: manufacturers.name,
    })
    .from(appVersions)
    .innerJoin(manufacturers, eq(manufacturers.id, appVersions.manufacturerId))
    .leftJoin(people, eq(people.id, appVersions.createdBy))
    .where(
      and(
        filter.model === undefined ? undefined : eq(appVersions.model, filter.model),
        filter.component === undefined ? undefined : eq(appVersions.component, filter.component),
        filter.manufacturerId === undefined ? undefined : eq(appVersions.manufacturerId, filter.manufacturerId),
        before === undefined ? undefined : lt(appVersions.id, before),
      ),
    )
    .orderBy(desc(appVersions.id))
    .limit(limit);
}

/** The packages of these application versions (kind, source version, size, signing key). */
export async function packagesOfApps(tx: Tx, appVersionIds: string[]) {
  const { appPackages } = tx.t;
  if (appVersionIds.length === 0) return [];
  return tx.q
    .select({ appVersionId: appPackages.appVersionId, id: appPackages.id, kind: appPackages.kind, fromVersion: appPackages.fromVersion, fileSize: appPackages.fileSize, keyid: appPackages.keyid })
    .from(appPackages)
    .where(inArray(appPackages.appVersionId, appVersionIds))
    .orderBy(asc(appPackages.id));
}

/** The versions uploaded for one model (what a baseline or an install may name), by component. */
export async function appVersionsOfModel(tx: Tx, model: string, limit: number) {
  const { appVersions } = tx.t;
  return tx.q
    .select({ component: appVersions.component, version: appVersions.version })
    .from(appVersions)
    .where(eq(appVersions.model, model))
    .orderBy(asc(appVersions.component), desc(appVersions.id))
    .limit(limit);
}

/** Every model with its manufacturer and its baseline when it has one, by name. */
export async function modelsWithBaselines(tx: Tx, limit: number) {
  const { models, manufacturers, appBaselines } = tx.t;
  return tx.q
    .select({ model: models.name, manufacturer: manufacturers.name, spec: appBaselines.spec, updatedAt: appBaselines.updatedAt, updatedBy: appBaselines.updatedBy })
    .from(models)
    .innerJoin(manufacturers, eq(manufacturers.id, models.manufacturerId))
    .leftJoin(appBaselines, eq(appBaselines.model, models.name))
    .orderBy(asc(models.name))
    .limit(limit);
}

export async function displayNameOf(tx: Tx, personId: string): Promise<string | undefined> {
  const { people } = tx.t;
  const [row] = await tx.q.select({ name: people.displayName }).from(people).where(eq(people.id, personId));
  return row?.name;
}

/**
 * A model's devices after `after` in id order (the devices_model_id index), each with the
 * inventory record last read (null when never read).
 */
export async function modelDevicesWithApps(tx: Tx, model: string, after: string | undefined, limit: number) {
  const { devices, deviceApps } = tx.t;
  return tx.q
    .select({ id: devices.id, lastSeen: devices.lastSeen, components: deviceApps.components, readAt: deviceApps.readAt })
    .from(devices)
    .leftJoin(deviceApps, eq(deviceApps.deviceId, devices.id))
    .where(and(eq(devices.model, model), after === undefined ? undefined : gt(devices.id, after)))
    .orderBy(asc(devices.id))
    .limit(limit);
}
