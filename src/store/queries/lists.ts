// The list queries of the API: one page of builds, packages, deployments, campaigns or
// audit events after a key, filtered (devices: device-filter.ts, shared with the console). Each runs in id order on the primary
// key (ids are unique, and those the server makes start with their creation time), so a
// page is one index range however deep the walk goes. Written once for both dialects.
import { and, asc, desc, eq, type SQL } from 'drizzle-orm';
import { afterKey, type Order } from '../page.ts';
import type { Tx } from '../store.ts';
import type { AuditRow } from './audit.ts';
import type { BuildRow, PackageRow } from './builds.ts';
import type { CampaignRow } from './campaigns.ts';
import type { DeploymentRow } from './deployments.ts';

/** How each list runs: the newest first where rows are made over time, devices by their (operator-given) id. */
export const LIST_ORDER = { builds: 'desc', packages: 'desc', devices: 'asc', deployments: 'asc', campaigns: 'desc', audit: 'desc' } as const satisfies Record<string, Order>;

const orderBy = (order: Order) => (order === 'asc' ? asc : desc);

export interface BuildFilter {
  model?: string | undefined;
  version?: string | undefined;
  /** A manufacturer token sees only its own builds. */
  manufacturerId?: string | undefined;
}

export async function buildsPage(tx: Tx, filter: BuildFilter, after: string | undefined, limit: number): Promise<Array<BuildRow & { model: string }>> {
  const { builds, models } = tx.t;
  const order = LIST_ORDER.builds;
  const rows = await tx.q
    .select({ build: builds, model: models.name })
    .from(builds)
    .innerJoin(models, eq(models.id, builds.modelId))
    .where(
      and(
        filter.model === undefined ? undefined : eq(models.name, filter.model),
        filter.version === undefined ? undefined : eq(builds.version, filter.version),
        filter.manufacturerId === undefined ? undefined : eq(models.manufacturerId, filter.manufacturerId),
        afterKey(builds.id, order, after),
      ),
    )
    .orderBy(orderBy(order)(builds.id))
    .limit(limit);
  return rows.map((row) => ({ ...row.build, model: row.model }));
}

export interface PackageFilter {
  buildId?: string | undefined;
  model?: string | undefined;
  kind?: PackageRow['kind'] | undefined;
  manufacturerId?: string | undefined;
}

export async function packagesPage(tx: Tx, filter: PackageFilter, after: string | undefined, limit: number): Promise<Array<PackageRow & { model: string }>> {
  const { packages, builds, models } = tx.t;
  const order = LIST_ORDER.packages;
  const rows = await tx.q
    .select({ pkg: packages, model: models.name })
    .from(packages)
    .innerJoin(builds, eq(builds.id, packages.buildId))
    .innerJoin(models, eq(models.id, builds.modelId))
    .where(
      and(
        filter.buildId === undefined ? undefined : eq(packages.buildId, filter.buildId),
        filter.model === undefined ? undefined : eq(models.name, filter.model),
        filter.kind === undefined ? undefined : eq(packages.kind, filter.kind),
        filter.manufacturerId === undefined ? undefined : eq(models.manufacturerId, filter.manufacturerId),
        afterKey(packages.id, order, after),
      ),
    )
    .orderBy(orderBy(order)(packages.id))
    .limit(limit);
  return rows.map((row) => ({ ...row.pkg, model: row.model }));
}

export interface DeploymentFilter {
  campaignId?: string | undefined;
  stage?: number | undefined;
  state?: string | undefined;
  resultCode?: number | undefined;
  deviceId?: string | undefined;
}

export async function deploymentsPage(tx: Tx, filter: DeploymentFilter, after: string | undefined, limit: number): Promise<DeploymentRow[]> {
  const { deployments } = tx.t;
  const order = LIST_ORDER.deployments;
  return tx.q
    .select()
    .from(deployments)
    .where(
      and(
        filter.campaignId === undefined ? undefined : eq(deployments.campaignId, filter.campaignId),
        filter.stage === undefined ? undefined : eq(deployments.stage, filter.stage),
        filter.state === undefined ? undefined : eq(deployments.state, filter.state),
        filter.resultCode === undefined ? undefined : eq(deployments.resultCode, filter.resultCode),
        filter.deviceId === undefined ? undefined : eq(deployments.deviceId, filter.deviceId),
        afterKey(deployments.id, order, after),
      ),
    )
    .orderBy(orderBy(order)(deployments.id))
    .limit(limit);
}

export async function campaignsPage(tx: Tx, filter: { state?: CampaignRow['state'] | undefined }, after: string | undefined, limit: number): Promise<CampaignRow[]> {
  const { campaigns } = tx.t;
  const order = LIST_ORDER.campaigns;
  return tx.q
    .select()
    .from(campaigns)
    .where(and(filter.state === undefined ? undefined : eq(campaigns.state, filter.state), afterKey(campaigns.id, order, after)))
    .orderBy(orderBy(order)(campaigns.id))
    .limit(limit);
}

export interface AuditFilter {
  subject?: string | undefined;
  actor?: string | undefined;
  action?: string | undefined;
}

export async function auditPage(tx: Tx, filter: AuditFilter, after: string | undefined, limit: number): Promise<AuditRow[]> {
  const { auditEvents } = tx.t;
  const order = LIST_ORDER.audit;
  const conditions: Array<SQL | undefined> = [
    filter.subject === undefined ? undefined : eq(auditEvents.subject, filter.subject),
    filter.actor === undefined ? undefined : eq(auditEvents.actor, filter.actor),
    filter.action === undefined ? undefined : eq(auditEvents.action, filter.action),
    afterKey(auditEvents.id, order, after),
  ];
  return tx.q
    .select()
    .from(auditEvents)
    .where(and(...conditions))
    .orderBy(orderBy(order)(auditEvents.id))
    .limit(limit);
}
