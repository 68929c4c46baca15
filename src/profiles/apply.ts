// Profiles on demand: one version applied to one device at its next DM session (woken with
// a Package 0, as `fota device notify` does), the device's current configuration and its
// applications, and a drift check (read back and compare) for a cohort.
import type { Context } from '../context.ts';
import { type Confirm, saveConfirmation } from '../devices/confirm-policy.ts';
import { deviceRow } from '../devices/devices.ts';
import { notifyDevice } from '../devices/notify.ts';
import { AppError } from '../errors.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { type CohortFilter, cohortPage } from '../store/queries/campaigns.ts';
import { type ApplicationRow, applicationsOf, configurationOf, findApplication } from '../store/queries/profiles.ts';
import { auditActor, type Principal } from '../tokens/tokens.ts';
import { requireModel, resolveProfileRef } from './profiles.ts';
import { queueApplication } from './queue.ts';
import type { ApplicationView, DeviceConfiguration } from './schemas.ts';

/** Applications shown with a device's configuration, newest first. */
const RECENT_APPLICATIONS = 20;
/** Devices a drift check reads back at most in one request. */
export const MAX_DRIFT_DEVICES = 10_000;
const DRIFT_CHUNK = 200;

export async function applyToDevice(ctx: Context, principal: Principal, deviceId: string, request: { profile: string; notify?: boolean | undefined; confirm?: Confirm | undefined }): Promise<{ applicationId: string; profileVersionId: string; notified: boolean }> {
  const device = await deviceRow(ctx, deviceId);
  const now = ctx.clock.now();
  const applicationId = await ctx.db.transaction(async (tx) => {
    const version = await resolveProfileRef(tx, request.profile);
    requireModel(version, device.model, `device ${device.id}'s model`);
    const id = await queueApplication(tx, { deviceId: device.id, profileVersionId: version.id, operations: version.operations, reason: 'device', ...(request.confirm ? { gated: true } : {}), createdBy: principal.personId, now });
    if (request.confirm) await saveConfirmation(tx, id, request.confirm, now);
    await recordAudit(tx, { ...auditActor(principal), action: 'device.profile-queued', subject: device.id, details: { profile: `${version.name}@${version.version}`, applicationId: id, ...(request.confirm ? { confirm: request.confirm.text } : {}) } }, now);
    return { id, versionId: version.id };
  });
  let notified = false;
  if (request.notify ?? true) {
    // A device that cannot be woken applies the profile when it next polls.
    notified = (await notifyDevice(ctx, principal, device.id)).delivered;
  }
  return { applicationId: applicationId.id, profileVersionId: applicationId.versionId, notified };
}

export async function deviceConfiguration(ctx: Context, deviceId: string): Promise<DeviceConfiguration> {
  await deviceRow(ctx, deviceId);
  const values = await configurationOf(ctx.db, deviceId);
  return {
    deviceId,
    values: values.map((v) => ({ uri: v.uri, value: v.value, profileVersionId: v.profileVersionId, reportedAt: new Date(v.reportedAt).toISOString() })),
    applications: (await applicationsOf(ctx.db, deviceId, RECENT_APPLICATIONS)).map(applicationView),
  };
}

export async function applicationOf(ctx: Context, deviceId: string, id: string): Promise<ApplicationView> {
  const row = await findApplication(ctx.db, id);
  if (!row || row.deviceId !== deviceId) throw new AppError('NOT_FOUND', `device ${deviceId} has no profile application ${id}`);
  return applicationView(row);
}

/** Read back the profile's nodes on every device of the cohort (of the profile's model) and compare, at each one's next session. */
export async function requestDriftCheck(ctx: Context, principal: Principal, name: string, request: { version?: number | undefined; cohort: Omit<CohortFilter, 'model'> & { model?: string | undefined } }): Promise<{ profileVersionId: string; devices: number; applicationIds: string[] }> {
  const version = await resolveProfileRef(ctx.db, request.version === undefined ? name : `${name}@${request.version}`);
  const model = request.cohort.model ?? version.model;
  requireModel(version, model, 'the cohort model');
  const filter: CohortFilter = { model, ...(request.cohort.versions ? { versions: request.cohort.versions } : {}), ...(request.cohort.tags ? { tags: request.cohort.tags } : {}), ...(request.cohort.deviceIds ? { deviceIds: request.cohort.deviceIds } : {}) };
  const devices = await cohortPage(ctx.db, filter, '', MAX_DRIFT_DEVICES + 1);
  if (devices.length > MAX_DRIFT_DEVICES) throw new AppError('VALIDATION', `the cohort has more than ${MAX_DRIFT_DEVICES} devices; narrow it (tags, versions, deviceIds) and check it in parts`);
  if (devices.length === 0) throw new AppError('VALIDATION', `the cohort matches no device of model ${model}`);
  const now = ctx.clock.now();
  // A chunk of devices per transaction, so a large cohort never holds the writer for long (CONVENTIONS 12).
  const applicationIds: string[] = [];
  for (let i = 0; i < devices.length; i += DRIFT_CHUNK) {
    const chunk = devices.slice(i, i + DRIFT_CHUNK);
    applicationIds.push(...(await ctx.db.transaction(async (tx) => {
      const ids: string[] = [];
      // Recorded with the first chunk it describes.
      if (i === 0) await recordAudit(tx, { ...auditActor(principal), action: 'profile.drift-check', subject: version.profileId, details: { profile: `${version.name}@${version.version}`, devices: devices.length, cohort: filter } }, now);
      for (const device of chunk) ids.push(await queueApplication(tx, { deviceId: device.id, profileVersionId: version.id, operations: version.operations, reason: 'drift', createdBy: principal.personId, now }));
      return ids;
    })));
  }
  return { profileVersionId: version.id, devices: devices.length, applicationIds };
}

function applicationView(row: ApplicationRow): ApplicationView {
  return {
    id: row.id,
    deviceId: row.deviceId,
    profileVersionId: row.profileVersionId,
    reason: row.reason,
    state: row.state,
    deploymentId: row.deploymentId,
    statuses: row.statuses ? (JSON.parse(row.statuses) as ApplicationView['statuses']) : [],
    failureCode: row.failureCode,
    failureReason: row.failureReason,
    attempts: row.attempts,
    drift: row.drift ? (JSON.parse(row.drift) as NonNullable<ApplicationView['drift']>) : null,
    createdAt: new Date(row.createdAt).toISOString(),
    doneAt: row.doneAt === null ? null : new Date(row.doneAt).toISOString(),
  };
}
