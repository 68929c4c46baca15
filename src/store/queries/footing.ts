// What a DM message's plan needs to know before it reads anything else: which of the
// device's optional parts exist at all (a deployment under way, SCOMO's baseline,
// inventory and operations, profile applications waiting, the model's provisioning
// profile, queued operations), in one statement. Most devices have few of them, and a statement costs more
// than the lookups in it (bench/dm.ts): the plan's hooks skip the reads of what is absent.
// Read with the device the message names (devices.ts, findDeviceAndSession: no statement
// of its own), else in the message's transaction; what it says holds only while the
// transaction made no write of that topic since its start, or since the read in it
// (write-counts.ts), so the hooks ask `holds` before they skip. Read before the
// transaction, it may miss what another transaction committed in between (an operation
// queued, a deployment created): the message then acts as if that came just after it, and
// the next message sees it, as it already was on PostgreSQL, where each statement of the
// transaction sees what was committed when it began. Its positive answers lead to reads
// in the transaction, which see the rows as they are.
import { and, eq, sql } from 'drizzle-orm';
import type { Tables, Tx } from '../store.ts';
import { underWay } from './deployments.ts';
import { preparedPer } from './prepared.ts';
import { type DeviceAppsRow, OPEN_SCOMO_STATES } from './scomo.ts';
import { type WriteTopic, writesOf } from './write-counts.ts';

export interface ScomoFooting {
  /** The model's baseline (its spec), if it has one. */
  baselineSpec: string | null;
  /** The device's application inventory as stored, if any. */
  apps: Pick<DeviceAppsRow, 'components' | 'readAt'> | undefined;
  /** Whether the device has a SCOMO operation scheduled or commanded. */
  hasOpen: boolean;
}

export interface Footing {
  hasActiveDeployment: boolean;
  scomo: ScomoFooting;
  /** Whether an application of a profile waits for the device (state queued). */
  hasQueuedApplications: boolean;
  /** The model's provisioning profile, if it has one. */
  provisioningProfileId: string | null;
  /** Whether an operation waits to be sent to the device (state queued). */
  hasQueuedOperations: boolean;
  /** Whether one of those waits for its user's answer (a gate: dm/session/user-gate.ts). */
  hasGatedOperations: boolean;
  /** The transaction's write counts when this was read. */
  writes: Record<WriteTopic, number>;
}

// EXISTS is 0/1 on SQLite, a boolean on PostgreSQL.
const truthy = (value: unknown) => value === true || value === 1 || value === '1' || value === 't';

// Written so each lookup is one seek of an index: the deployment under way by the partial
// index that holds only those (underWay); the open SCOMO operation as one EXISTS per state
// (an IN list in a correlated subquery builds a temporary table on every run: 18,500
// instructions of SQLite against 2,100 for the two EXISTS); the queued operations and
// whether one is gated in one subquery; the states as literals, fixed words of the code.
// On a device with none of these parts (bench/dm.ts) the subqueries went from 32,600 to
// 14,200 instructions a run (valgrind, in sqlite3_step).
const word = (value: string) => sql.raw(`'${value}'`);

/**
 * The footing's columns, for a select from `devices` left-joined with `device_apps` on the
 * device (footingQuery; the DM message's device lookup reads them with the device:
 * devices.ts, findDeviceAndSession).
 */
export function footingFields({ devices, deployments, appBaselines, deviceApps, scomoDeployments, profileApplications, profiles, dmOperations }: Tables) {
  return {
    active: sql<unknown>`exists (select 1 from ${deployments} where ${deployments.deviceId} = ${devices.id} and ${underWay(deployments)})`,
    baselineSpec: sql<string | null>`(select ${appBaselines.spec} from ${appBaselines} where ${appBaselines.model} = ${devices.model})`,
    components: deviceApps.components,
    readAt: deviceApps.readAt,
    scomoOpen: sql<unknown>`(${sql.join(
      OPEN_SCOMO_STATES.map((state) => sql`exists (select 1 from ${scomoDeployments} where ${scomoDeployments.deviceId} = ${devices.id} and ${scomoDeployments.state} = ${word(state)})`),
      sql` or `,
    )})`,
    queuedApplications: sql<unknown>`exists (select 1 from ${profileApplications} where ${profileApplications.deviceId} = ${devices.id} and ${profileApplications.state} = ${word('queued')})`,
    provisioningProfileId: sql<string | null>`(select ${profiles.id} from ${profiles} where ${and(eq(profiles.model, devices.model), eq(profiles.provisioning, true))} limit 1)`,
    // Null: none queued; 0: queued, none gated; 1: one at least waits for its user.
    queuedOperations: sql<number | string | null>`(select max(case when ${dmOperations.gateId} is null then 0 else 1 end) from ${dmOperations} where ${dmOperations.deviceId} = ${devices.id} and ${dmOperations.state} = ${word('queued')})`,
  };
}

/** A row of footingFields' columns (components and read_at null without an application inventory). */
interface FootingColumns {
  active: unknown;
  baselineSpec: string | null;
  components: string | null;
  readAt: number | null;
  scomoOpen: unknown;
  queuedApplications: unknown;
  provisioningProfileId: string | null;
  queuedOperations: number | string | null;
}

/** A footing read outside the message's transaction (with the device: findDeviceAndSession); footingAt binds it to that transaction. */
export type FootingRead = Omit<Footing, 'writes'>;

/** The footing in a row of footingFields' columns. */
export function footingFrom(row: FootingColumns): FootingRead {
  return {
    hasActiveDeployment: truthy(row.active),
    scomo: { baselineSpec: row.baselineSpec, apps: row.components === null || row.readAt === null ? undefined : { components: row.components, readAt: row.readAt }, hasOpen: truthy(row.scomoOpen) },
    hasQueuedApplications: truthy(row.queuedApplications),
    provisioningProfileId: row.provisioningProfileId,
    hasQueuedOperations: row.queuedOperations !== null,
    hasGatedOperations: Number(row.queuedOperations) === 1,
  };
}

const writesNow = (tx: Tx): Footing['writes'] => ({ deployments: writesOf(tx, 'deployments'), scomo: writesOf(tx, 'scomo'), profileApplications: writesOf(tx, 'profileApplications'), operations: writesOf(tx, 'operations') });

const footingQuery = preparedPer(({ q, t }) =>
  q
    .select(footingFields(t))
    .from(t.devices)
    .leftJoin(t.deviceApps, eq(t.deviceApps.deviceId, t.devices.id))
    .where(eq(t.devices.id, sql.placeholder('deviceId')))
    .prepare(),
);

/** The device's footing; undefined when there is no such device. */
export async function footingOf(tx: Tx, deviceId: string): Promise<Footing | undefined> {
  const [row] = await footingQuery(tx).execute({ deviceId });
  return row === undefined ? undefined : footingAt(tx, footingFrom(row));
}

/**
 * A footing read before the transaction, as of the transaction's start: call it before the
 * transaction writes anything (its first statement), so any write of a topic after it
 * makes what it says of that topic stale (`holds`).
 */
export function footingAt(tx: Tx, read: FootingRead): Footing {
  // Field by field, not a spread: V8 copies a spread through its generic path (persist.ts).
  return {
    hasActiveDeployment: read.hasActiveDeployment,
    scomo: read.scomo,
    hasQueuedApplications: read.hasQueuedApplications,
    provisioningProfileId: read.provisioningProfileId,
    hasQueuedOperations: read.hasQueuedOperations,
    hasGatedOperations: read.hasGatedOperations,
    writes: writesNow(tx),
  };
}

/** Whether what the footing says of `topic` still holds: the transaction wrote none of it since. */
export function holds(tx: Tx, footing: Footing | undefined, topic: WriteTopic): footing is Footing {
  return footing !== undefined && footing.writes[topic] === writesOf(tx, topic);
}
