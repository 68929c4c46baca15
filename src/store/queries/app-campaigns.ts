// Rows application campaigns read: the app inventories of a page of cohort devices (who is
// already on the target, who has the component), the SCOMO operation that carries out a
// campaign deployment, and the components a device's running application campaigns hold
// (the baseline leaves them alone meanwhile).
import { and, eq, inArray } from 'drizzle-orm';
import type { Tx } from '../store.ts';
import type { DeviceAppsRow, ScomoDeploymentRow } from './scomo.ts';

/** Campaign states in which an application campaign holds its component on its devices. */
const HOLDING_STATES = ['starting', 'running', 'paused'] as const;

/** The stored app inventories of these devices (those never read have none). */
export async function deviceAppsIn(tx: Tx, deviceIds: string[]): Promise<DeviceAppsRow[]> {
  if (deviceIds.length === 0) return [];
  const { deviceApps } = tx.t;
  const rows: DeviceAppsRow[] = [];
  // Well under SQLite's limit of bound parameters per statement.
  for (let i = 0; i < deviceIds.length; i += 500) rows.push(...(await tx.q.select().from(deviceApps).where(inArray(deviceApps.deviceId, deviceIds.slice(i, i + 500)))));
  return rows;
}

/** The SCOMO operation made for a campaign deployment, newest first (a retried deployment may have made several). */
export async function scomoOfDeployment(tx: Tx, deploymentId: string): Promise<ScomoDeploymentRow | undefined> {
  const { scomoDeployments } = tx.t;
  const rows = await tx.q.select().from(scomoDeployments).where(eq(scomoDeployments.deploymentId, deploymentId));
  return rows.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))[0];
}

/** The components the device's starting, running or paused application campaigns act on. */
export async function componentsHeldOn(tx: Tx, deviceId: string): Promise<Set<string>> {
  const { deployments, campaigns } = tx.t;
  const rows = await tx.q
    .select({ component: campaigns.appComponent })
    .from(deployments)
    .innerJoin(campaigns, eq(campaigns.id, deployments.campaignId))
    .where(and(eq(deployments.deviceId, deviceId), eq(campaigns.kind, 'application'), inArray(campaigns.state, [...HOLDING_STATES])));
  return new Set(rows.flatMap((r) => (r.component ? [r.component] : [])));
}

/** The application operation of these campaigns (those of other kinds are left out), with the version an install delivers. */
export async function appOperationsOf(tx: Tx, campaignIds: string[]): Promise<Array<{ id: string; appOperation: string | null; appComponent: string | null; version: string | null }>> {
  if (campaignIds.length === 0) return [];
  const { campaigns, appVersions } = tx.t;
  return tx.q
    .select({ id: campaigns.id, appOperation: campaigns.appOperation, appComponent: campaigns.appComponent, version: appVersions.version })
    .from(campaigns)
    .leftJoin(appVersions, eq(appVersions.id, campaigns.appVersionId))
    .where(and(inArray(campaigns.id, campaignIds), eq(campaigns.kind, 'application')));
}
