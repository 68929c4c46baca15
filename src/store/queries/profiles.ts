// Configuration profile rows: profiles and their immutable versions, applications of a
// version to a device, and the device's configuration as read back.
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { deviceConfiguration, profileApplications, profiles, profileVersions } from '../schema/index.ts';
import { forUpdate } from '../dialect.ts';
import type { Tx } from '../store.ts';
import { preparedPer } from './prepared.ts';
import { countWrite } from './write-counts.ts';

export type ProfileRow = typeof profiles.$inferSelect;
export type ProfileVersionRow = typeof profileVersions.$inferSelect;
export type ApplicationRow = typeof profileApplications.$inferSelect;
export type ConfigurationRow = typeof deviceConfiguration.$inferSelect;

/** With `forUpdate`, for a new version: two creators of one profile take turns (the version number). */
export async function findProfileByName(tx: Tx, name: string, options: { forUpdate?: boolean } = {}): Promise<ProfileRow | undefined> {
  const { profiles } = tx.t;
  const query = tx.q.select().from(profiles).where(eq(profiles.name, name));
  return (await (options.forUpdate ? forUpdate(tx, query) : query))[0];
}

export async function insertProfile(tx: Tx, row: typeof profiles.$inferInsert): Promise<void> {
  await tx.q.insert(tx.t.profiles).values(row);
}

export async function setProvisioningProfile(tx: Tx, model: string, profileId: string): Promise<void> {
  const { profiles } = tx.t;
  await tx.q.update(profiles).set({ provisioning: false }).where(eq(profiles.model, model));
  await tx.q.update(profiles).set({ provisioning: true }).where(eq(profiles.id, profileId));
}

export async function listProfiles(tx: Tx, limit: number): Promise<ProfileRow[]> {
  const { profiles } = tx.t;
  return tx.q.select().from(profiles).orderBy(asc(profiles.name)).limit(limit);
}

export async function versionsOf(tx: Tx, profileId: string): Promise<ProfileVersionRow[]> {
  const { profileVersions } = tx.t;
  return tx.q.select().from(profileVersions).where(eq(profileVersions.profileId, profileId)).orderBy(asc(profileVersions.version));
}

export async function latestVersionOf(tx: Tx, profileId: string): Promise<ProfileVersionRow | undefined> {
  const { profileVersions } = tx.t;
  return (await tx.q.select().from(profileVersions).where(eq(profileVersions.profileId, profileId)).orderBy(desc(profileVersions.version)).limit(1))[0];
}

export async function findVersion(tx: Tx, profileId: string, version: number): Promise<ProfileVersionRow | undefined> {
  const { profileVersions } = tx.t;
  return (await tx.q.select().from(profileVersions).where(and(eq(profileVersions.profileId, profileId), eq(profileVersions.version, version))))[0];
}

export async function findVersionById(tx: Tx, id: string): Promise<(ProfileVersionRow & { name: string; model: string; provisioning: boolean }) | undefined> {
  const { profileVersions, profiles } = tx.t;
  const [row] = await tx.q
    .select({ version: profileVersions, name: profiles.name, model: profiles.model, provisioning: profiles.provisioning })
    .from(profileVersions)
    .innerJoin(profiles, eq(profiles.id, profileVersions.profileId))
    .where(eq(profileVersions.id, id));
  return row ? { ...row.version, name: row.name, model: row.model, provisioning: row.provisioning } : undefined;
}

export async function insertVersion(tx: Tx, row: typeof profileVersions.$inferInsert): Promise<void> {
  await tx.q.insert(tx.t.profileVersions).values(row);
}

/** The model's provisioning profile, if it has one. */
// This and the device's queued applications are read at the start of every DM session
// (profiles/session-work.ts): prepared once, as the other per-message reads are (prepared.ts).
const provisioningQuery = preparedPer(({ q, t: { profiles } }) => q.select().from(profiles).where(and(eq(profiles.model, sql.placeholder('model')), eq(profiles.provisioning, true))).limit(1).prepare());
const queuedQuery = preparedPer((tx) => {
  const { profileApplications } = tx.t;
  return forUpdate(tx, tx.q.select().from(profileApplications).where(and(eq(profileApplications.deviceId, sql.placeholder('deviceId')), eq(profileApplications.state, 'queued')))).prepare();
});

export async function provisioningProfileOf(tx: Tx, model: string): Promise<ProfileRow | undefined> {
  return (await provisioningQuery(tx).execute({ model }))[0];
}

/** Whether the device ever got an application of any version of the profile for `reason` (queued or settled). */
export async function hasApplicationOf(tx: Tx, deviceId: string, profileId: string, reason: ApplicationRow['reason']): Promise<boolean> {
  const { profileApplications, profileVersions } = tx.t;
  const found = await tx.q
    .select({ id: profileApplications.id })
    .from(profileApplications)
    .innerJoin(profileVersions, eq(profileVersions.id, profileApplications.profileVersionId))
    .where(and(eq(profileApplications.deviceId, deviceId), eq(profileVersions.profileId, profileId), eq(profileApplications.reason, reason)))
    .limit(1);
  return found.length > 0;
}

/** Whether an application of any version of the profile for `reason` still waits for the device. */
export async function hasQueuedApplicationOf(tx: Tx, deviceId: string, profileId: string, reason: ApplicationRow['reason']): Promise<boolean> {
  const { profileApplications, profileVersions } = tx.t;
  const found = await tx.q
    .select({ id: profileApplications.id })
    .from(profileApplications)
    .innerJoin(profileVersions, eq(profileVersions.id, profileApplications.profileVersionId))
    .where(and(eq(profileApplications.deviceId, deviceId), eq(profileVersions.profileId, profileId), eq(profileApplications.reason, reason), eq(profileApplications.state, 'queued')))
    .limit(1);
  return found.length > 0;
}

export async function insertApplication(tx: Tx, row: typeof profileApplications.$inferInsert): Promise<void> {
  countWrite(tx, 'profileApplications');
  await tx.q.insert(tx.t.profileApplications).values(row);
}

export async function queuedApplicationsOf(tx: Tx, deviceId: string): Promise<ApplicationRow[]> {
  return queuedQuery(tx).execute({ deviceId });
}

export async function updateApplication(tx: Tx, id: string, changes: Partial<typeof profileApplications.$inferInsert>): Promise<void> {
  countWrite(tx, 'profileApplications');
  const { profileApplications } = tx.t;
  await tx.q.update(profileApplications).set(changes).where(eq(profileApplications.id, id));
}

export async function findApplication(tx: Tx, id: string): Promise<ApplicationRow | undefined> {
  const { profileApplications } = tx.t;
  return (await tx.q.select().from(profileApplications).where(eq(profileApplications.id, id)))[0];
}

export async function applicationsOf(tx: Tx, deviceId: string, limit: number): Promise<ApplicationRow[]> {
  const { profileApplications } = tx.t;
  return tx.q.select().from(profileApplications).where(eq(profileApplications.deviceId, deviceId)).orderBy(desc(profileApplications.createdAt), desc(profileApplications.id)).limit(limit);
}

export async function operationsById(tx: Tx, ids: string[]): Promise<Array<{ id: string; state: string; statusCode: number | null; result: string | null; command: string; uri: string }>> {
  if (ids.length === 0) return [];
  const { dmOperations } = tx.t;
  return tx.q
    .select({ id: dmOperations.id, state: dmOperations.state, statusCode: dmOperations.statusCode, result: dmOperations.result, command: dmOperations.command, uri: dmOperations.uri })
    .from(dmOperations)
    .where(inArray(dmOperations.id, ids));
}

export async function configurationOf(tx: Tx, deviceId: string): Promise<ConfigurationRow[]> {
  const { deviceConfiguration } = tx.t;
  return tx.q.select().from(deviceConfiguration).where(eq(deviceConfiguration.deviceId, deviceId)).orderBy(asc(deviceConfiguration.uri));
}

/** Sets (or replaces) the device's known value of each node. */
export async function storeConfiguration(tx: Tx, deviceId: string, values: Array<{ uri: string; value: string }>, profileVersionId: string, now: number): Promise<void> {
  if (values.length === 0) return;
  const { deviceConfiguration } = tx.t;
  await tx.q.delete(deviceConfiguration).where(and(eq(deviceConfiguration.deviceId, deviceId), inArray(deviceConfiguration.uri, values.map((v) => v.uri))));
  await tx.q.insert(deviceConfiguration).values(values.map((v) => ({ deviceId, uri: v.uri, value: v.value, profileVersionId, reportedAt: now })));
}

export async function forgetConfiguration(tx: Tx, deviceId: string, uris: string[]): Promise<void> {
  if (uris.length === 0) return;
  const { deviceConfiguration } = tx.t;
  await tx.q.delete(deviceConfiguration).where(and(eq(deviceConfiguration.deviceId, deviceId), inArray(deviceConfiguration.uri, uris)));
}
