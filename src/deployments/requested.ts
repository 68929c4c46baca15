// Updates a device (or its user) asks for: Generic Alert 1226 of type
// org.openmobilealliance.dm.firmwareupdate.devicerequest or .userrequest. The answer comes
// in the same DM session: the newest release (by version, builds/version-order.ts) offered
// to the device's cohort whose build is newer than the firmware the device runs becomes a deployment that planFumo commands at
// once; otherwise the device gets nothing to do (its alert's Status is 200 and no FUMO
// commands follow) and the reason is recorded in the audit log under the device's id. Runs
// only when such an alert came, inside the message's transaction.
import { isNewerThan, newestOf } from '../builds/version-order.ts';
import { isWithinWindow, nextOpening, windowOf } from '../schedule/window.ts';
import { newId } from '../store/ids.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { packagesOf } from '../store/queries/builds.ts';
import { activeDeploymentOf, insertDeploymentIfFree } from '../store/queries/deployments.ts';
import type { DeviceRow } from '../store/queries/devices.ts';
import { buildOfVersion, lastAnsweredRequest, offeredReleases, type ReleaseRow } from '../store/queries/releases.ts';
import type { Tx } from '../store/store.ts';
import { choosePackage } from './policy.ts';
import type { HistoryEntry } from './schemas.ts';

/** Audit actions: a request answered (counts toward the rate limit), and one refused by it. */
export const REQUEST_ANSWERED = 'device.update-request';
export const REQUEST_LIMITED = 'device.update-request-limited';
/** One answered request per device per this long; more are acknowledged and recorded as limited. */
export const REQUEST_INTERVAL_MS = 60_000;

export type RequestKind = 'device' | 'user';

/** The one parser of request alert types (any case, Reversed-Domain-Name prefix already gone). */
export function updateRequestOf(type: string): RequestKind | undefined {
  const found = /firmwareupdate\.(devicerequest|userrequest)$/i.exec(type)?.[1]?.toLowerCase();
  return found === 'devicerequest' ? 'device' : found === 'userrequest' ? 'user' : undefined;
}

export type RequestOutcome =
  | { outcome: 'commanded'; deploymentId: string; releaseId: string; version: string }
  | { outcome: 'none'; reason: string };

/** What the device is told (and its user shown), in one line. */
export function describeRequestOutcome(outcome: RequestOutcome): string {
  return outcome.outcome === 'commanded' ? `update to ${outcome.version} (release ${outcome.releaseId}) follows` : outcome.reason;
}

/** Cohort filters as campaigns store them, matched against one device. */
function matches(release: ReleaseRow, device: DeviceRow, version: string | null): boolean {
  // Stored as campaigns store theirs (campaigns/cohort.ts), which this layer may not import.
  const cohort = JSON.parse(release.cohort) as { model: string; versions?: string[]; tags?: string[]; deviceIds?: string[] };
  if (cohort.model !== device.model) return false;
  if (cohort.versions && !(version !== null && cohort.versions.includes(version))) return false;
  if (cohort.deviceIds && !cohort.deviceIds.includes(device.id)) return false;
  if (cohort.tags) {
    const tags = new Set(JSON.parse(device.tags) as string[]);
    if (!cohort.tags.every((t) => tags.has(t))) return false;
  }
  return true;
}

/**
 * Answers a device's update request. `firmwareVersion` is the FwV the session knows (just
 * reported, else the stored one). Returns what the device was told, also recorded.
 */
export async function answerUpdateRequest(tx: Tx, device: DeviceRow, kind: RequestKind, firmwareVersion: string | null, now: number): Promise<RequestOutcome> {
  const who = kind === 'user' ? 'user' : 'device';
  const last = await lastAnsweredRequest(tx, device.id, REQUEST_ANSWERED, now - REQUEST_INTERVAL_MS);
  if (last !== undefined) {
    const reason = `update requested by ${who}: already answered at ${new Date(last).toISOString()}; one request a minute is answered`;
    await recordAudit(tx, { actor: 'dm', action: REQUEST_LIMITED, subject: device.id, details: { kind, outcome: 'rate-limited', reason } }, now);
    return { outcome: 'none', reason };
  }
  const outcome = await decide(tx, device, who, firmwareVersion, now);
  await recordAudit(tx, { actor: 'dm', action: REQUEST_ANSWERED, subject: device.id, details: { kind, firmwareVersion, ...outcome, ...(outcome.outcome === 'commanded' ? { reason: `update requested by ${who}: release ${outcome.releaseId} commanded (${outcome.version})` } : {}) } }, now);
  return outcome;
}

async function decide(tx: Tx, device: DeviceRow, who: string, firmwareVersion: string | null, now: number): Promise<RequestOutcome> {
  const none = (why: string): RequestOutcome => ({ outcome: 'none', reason: `update requested by ${who}: ${why}` });
  const active = await activeDeploymentOf(tx, device.id);
  // A device already being updated keeps that deployment (planFumo carries on with it).
  if (active) return none(`deployment ${active.id}${active.campaignId ? ` of campaign ${active.campaignId}` : ''} already under way (${active.state})`);
  const running = firmwareVersion === null ? undefined : await buildOfVersion(tx, device.model, firmwareVersion);
  const offered = (await offeredReleases(tx, device.model)).filter(({ release }) => matches(release, device, firmwareVersion));
  // Newer than what the device runs, by version (builds/version-order.ts; any build when it
  // reports none), never a lower security version (the device would refuse it).
  const newer = offered.filter(
    ({ build }) => build.status === 'ready' && build.version !== firmwareVersion && (firmwareVersion === null || isNewerThan(build, firmwareVersion, running)) && (!running || build.securityVersion >= running.securityVersion),
  );
  const newest = newestOf(newer, (o) => o.build);
  if (!newest) return none(offered.length === 0 ? 'none released for cohort' : `nothing newer than ${firmwareVersion ?? 'its firmware'} released for cohort`);
  const { release, build } = newest;
  const window = windowOf(release.window);
  if (!isWithinWindow(window, now)) {
    const opening = nextOpening(window, now);
    return none(`release ${release.id} (${build.version}): window closed${opening ? `, opens ${opening.local} (${new Date(opening.at).toISOString()})` : ''}`);
  }
  const choice = choosePackage(await packagesOf(tx, build.id), firmwareVersion, build.version);
  if ('none' in choice) return none(`release ${release.id} (${build.version}) has no package for this device`);
  const id = newId('dep');
  const history: HistoryEntry[] = [{ at: new Date(now).toISOString(), state: 'scheduled', cause: `update requested by ${who}; release ${release.id} offers ${build.version}` }];
  // Another session of the device (or another server process) may have given it one meanwhile.
  if (!(await insertDeploymentIfFree(tx, { id, deviceId: device.id, buildId: build.id, packageId: choice.packageId, state: 'scheduled', history: JSON.stringify(history), mode: 'downloadAndUpdate', createdBy: null, createdAt: now, updatedAt: now }))) {
    return none('another deployment was created for it at the same time');
  }
  return { outcome: 'commanded', deploymentId: id, releaseId: release.id, version: build.version };
}
