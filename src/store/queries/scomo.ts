// SCOMO rows: application versions and their packages, per-model baselines, the device's
// application inventory, and SCOMO deployments (one operation on one component).
import { and, asc, desc, eq, inArray, notInArray, sql, type SQL } from 'drizzle-orm';
import type { appBaselines, appPackages, appVersions, deviceApps, scomoDeployments } from '../schema/index.ts';
import { forUpdate } from '../dialect.ts';
import type { Tx } from '../store.ts';
import { preparedPer } from './prepared.ts';
import { countWrite } from './write-counts.ts';

export type AppVersionRow = typeof appVersions.$inferSelect;
export type AppPackageRow = typeof appPackages.$inferSelect;
export type BaselineRow = typeof appBaselines.$inferSelect;
export type DeviceAppsRow = typeof deviceApps.$inferSelect;
export type ScomoDeploymentRow = typeof scomoDeployments.$inferSelect;

/** SCOMO deployment states that are still under way. */
export const OPEN_SCOMO_STATES = ['scheduled', 'commanded'] as const;

export async function insertAppVersion(tx: Tx, row: typeof appVersions.$inferInsert): Promise<void> {
  await tx.q.insert(tx.t.appVersions).values(row);
}

export async function insertAppPackages(tx: Tx, rows: Array<typeof appPackages.$inferInsert>): Promise<void> {
  if (rows.length) await tx.q.insert(tx.t.appPackages).values(rows);
}

export async function findAppVersion(tx: Tx, id: string): Promise<AppVersionRow | undefined> {
  const { appVersions } = tx.t;
  const [row] = await tx.q.select().from(appVersions).where(eq(appVersions.id, id));
  return row;
}

export async function findAppVersionOf(tx: Tx, model: string, component: string, version: string): Promise<AppVersionRow | undefined> {
  const { appVersions } = tx.t;
  const [row] = await tx.q
    .select()
    .from(appVersions)
    .where(and(eq(appVersions.model, model), eq(appVersions.component, component), eq(appVersions.version, version)));
  return row;
}

/** Versions of one component, newest first (ids are time-prefixed). */
export async function versionsOfComponent(tx: Tx, model: string, component: string): Promise<AppVersionRow[]> {
  const { appVersions } = tx.t;
  return tx.q
    .select()
    .from(appVersions)
    .where(and(eq(appVersions.model, model), eq(appVersions.component, component)))
    .orderBy(desc(appVersions.id));
}

export async function listAppVersions(tx: Tx, filter: { manufacturerId?: string; model?: string; component?: string }, limit: number): Promise<AppVersionRow[]> {
  const { appVersions } = tx.t;
  const where: SQL[] = [];
  if (filter.manufacturerId) where.push(eq(appVersions.manufacturerId, filter.manufacturerId));
  if (filter.model) where.push(eq(appVersions.model, filter.model));
  if (filter.component) where.push(eq(appVersions.component, filter.component));
  return tx.q
    .select()
    .from(appVersions)
    .where(and(...where))
    .orderBy(desc(appVersions.id))
    .limit(limit);
}

export async function packagesOfApp(tx: Tx, appVersionId: string): Promise<AppPackageRow[]> {
  const { appPackages } = tx.t;
  return tx.q.select().from(appPackages).where(eq(appPackages.appVersionId, appVersionId)).orderBy(asc(appPackages.id));
}

export async function findAppPackage(tx: Tx, id: string): Promise<AppPackageRow | undefined> {
  const { appPackages } = tx.t;
  const [row] = await tx.q.select().from(appPackages).where(eq(appPackages.id, id));
  return row;
}

// The model's baseline, the device's applications and its open SCOMO deployments are read
// in every DM session (src/scomo/session.ts decides from them whether SCOMO has work):
// prepared once, as the other per-message reads are (prepared.ts).
const baselineOf = preparedPer(({ q, t: { appBaselines } }) => q.select().from(appBaselines).where(eq(appBaselines.model, sql.placeholder('model'))).prepare());
const deviceAppsOf = preparedPer(({ q, t: { deviceApps } }) => q.select().from(deviceApps).where(eq(deviceApps.deviceId, sql.placeholder('deviceId'))).prepare());
const openScomoOf = preparedPer(({ q, t: { scomoDeployments } }) =>
  q
    .select()
    .from(scomoDeployments)
    .where(and(eq(scomoDeployments.deviceId, sql.placeholder('deviceId')), inArray(scomoDeployments.state, [...OPEN_SCOMO_STATES])))
    .orderBy(asc(scomoDeployments.createdAt), asc(scomoDeployments.id))
    .prepare(),
);

export async function findBaseline(tx: Tx, model: string): Promise<BaselineRow | undefined> {
  return (await baselineOf(tx).execute({ model }))[0];
}

/**
 * One statement that inserts or replaces: an update-then-insert let two servers saving the
 * first baseline of a model both find nothing to update, and the second insert failed on
 * the primary key (409). On PostgreSQL the second waits for the first and updates its row.
 */
export async function saveBaseline(tx: Tx, row: BaselineRow): Promise<void> {
  countWrite(tx, 'scomo');
  const { appBaselines } = tx.t;
  await tx.q.insert(appBaselines).values(row).onConflictDoUpdate({ target: appBaselines.model, set: { spec: row.spec, updatedBy: row.updatedBy, updatedAt: row.updatedAt } });
}

export async function findDeviceApps(tx: Tx, deviceId: string): Promise<DeviceAppsRow | undefined> {
  return (await deviceAppsOf(tx).execute({ deviceId }))[0];
}

/** One statement that inserts or replaces, for the same reason as saveBaseline (two sessions of one device on two servers). */
export async function saveDeviceApps(tx: Tx, row: DeviceAppsRow): Promise<void> {
  countWrite(tx, 'scomo');
  const { deviceApps } = tx.t;
  await tx.q.insert(deviceApps).values(row).onConflictDoUpdate({ target: deviceApps.deviceId, set: { components: row.components, readAt: row.readAt } });
}

/**
 * Inserts the SCOMO operation unless its component already has one open on the device
 * (scomo_deployments_one_open); returns whether it did. The database decides, not an earlier
 * read: on PostgreSQL the second of two racing requests waits for the first to commit and
 * then inserts nothing, instead of failing its transaction.
 */
export async function insertScomoDeployment(tx: Tx, row: typeof scomoDeployments.$inferInsert): Promise<boolean> {
  countWrite(tx, 'scomo');
  const { scomoDeployments } = tx.t;
  // No conflict target (as insertDeploymentIfFree): the only other key is the new row's random id.
  const inserted = await tx.q.insert(scomoDeployments).values(row).onConflictDoNothing().returning({ id: scomoDeployments.id });
  return inserted.length === 1;
}

export async function findScomoDeployment(tx: Tx, id: string, options: { forUpdate?: boolean } = {}): Promise<ScomoDeploymentRow | undefined> {
  const { scomoDeployments } = tx.t;
  const query = tx.q.select().from(scomoDeployments).where(eq(scomoDeployments.id, id));
  const [row] = await (options.forUpdate ? forUpdate(tx, query) : query);
  return row;
}

/** The device's SCOMO deployments still under way, oldest first. */
export async function openScomoDeploymentsOf(tx: Tx, deviceId: string): Promise<ScomoDeploymentRow[]> {
  return openScomoOf(tx).execute({ deviceId });
}

/** The device's SCOMO deployments that ended, newest first. */
export async function closedScomoDeploymentsOf(tx: Tx, deviceId: string, limit: number): Promise<ScomoDeploymentRow[]> {
  const { scomoDeployments } = tx.t;
  return tx.q
    .select()
    .from(scomoDeployments)
    .where(and(eq(scomoDeployments.deviceId, deviceId), notInArray(scomoDeployments.state, [...OPEN_SCOMO_STATES])))
    .orderBy(desc(scomoDeployments.updatedAt), desc(scomoDeployments.id))
    .limit(limit);
}

export async function updateScomoDeployment(tx: Tx, id: string, changes: Partial<typeof scomoDeployments.$inferInsert>): Promise<void> {
  countWrite(tx, 'scomo');
  const { scomoDeployments } = tx.t;
  await tx.q.update(scomoDeployments).set(changes).where(eq(scomoDeployments.id, id));
}
