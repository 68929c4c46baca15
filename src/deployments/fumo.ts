// FUMO delivery inside a DM session. Planning: a scheduled deployment becomes a Replace of
// the FUMO PkgURL (a signed, expiring download link) and an Exec of DownloadAndUpdate (or
// Download, for the two-step variant) with a Correlator naming the deployment and attempt.
// The package is chosen then, against the firmware the device reports in that session
// (a delta from it, else the full image): a device updated by other means since its
// campaign started still gets a package it can apply.
// Applying: the device's Status on the Exec, its Generic Alert 1226 and its reported FwV
// move the deployment; duplicate, late and unknown alerts are acknowledged and ignored.
import type { Logger } from 'pino';
import type { Context } from '../context.ts';
import { DOWNLOAD_KEY_PURPOSE, DOWNLOAD_SEGMENT, issueDownloadToken } from './download-grant.ts';
import type { Tx } from '../store/store.ts';
import { findBuild, packageChoicesOf } from '../store/queries/builds.ts';
import { findCampaign } from '../store/queries/campaigns.ts';
import { type DeploymentRow, findDeployment } from '../store/queries/deployments.ts';
import { type ActiveDeployment, activeDeploymentIn } from './active.ts';
import { transition } from './deployments.ts';
import { fumoStepOf } from './fumo-step.ts';
import { endIfSecurityHeld } from './security-hold.ts';
import { AWAITING_RESULT, type DeploymentState, outcomeOfResult, packageChooser } from './policy.ts';

/** The FUMO node the server drives (the device's `./FUMO/<x>`). */
export const FUMO_NODE = './FUMO/fota';
const LINK_LIFETIME_MS = 24 * 3600 * 1000;
/** Transient failures are retried this many times in all before the deployment fails. */
export const MAX_ATTEMPTS = 3;

/** What the session sends: the FUMO node to Exec, and the PkgURL to set first (if any). */
export interface FumoPlan {
  deploymentId: string;
  /** e.g. ./FUMO/fota/DownloadAndUpdate */
  execUri: string;
  correlator: string;
  /** Replace `${execUri}/PkgURL` with this first; absent for the two-step Update. */
  pkgUrl?: string;
  /** The package the link is for (absent for the two-step Update: the device has it). */
  packageId?: string;
}

/** The device's firmware as the session knows it: reported in this session (null: it has none), or not yet read. */
export type ReportedFirmware = { version: string | null } | 'unread';

/** Read ./DevDetail/FwV first: the package is chosen against what the device reports. */
export const READ_FIRMWARE = 'readFirmware';

const correlatorOf = (row: { id: string }, attempt: number) => `${row.id}.${attempt}`;

/** The key download links are signed with (`downloadKey` of planFumo). */
export const downloadKeyOf = (ctx: Context): Uint8Array => ctx.vault.deriveKey(DOWNLOAD_KEY_PURPOSE);

/**
 * The FUMO step for the device's scheduled deployment, if it has one. Takes the download
 * key (downloadKeyOf) rather than the context: it runs inside the DM message's transaction.
 * READ_FIRMWARE: the device has a deployment to command but has not reported its FwV in
 * this session yet. Nothing when it already runs the target (applyFumo confirms that from
 * the same report). Writes nothing (the chosen package is recorded as the Exec is sent),
 * except to end a deployment the device would refuse as a downgrade (security-hold.ts).
 * `active`: the message's read of the deployment under way (active.ts), when it has one.
 */
export async function planFumo(tx: Tx, downloadKey: Uint8Array, deviceId: string, serverUrl: string, now: number, firmware: ReportedFirmware, active?: ActiveDeployment): Promise<FumoPlan | typeof READ_FIRMWARE | undefined> {
  const row = await activeDeploymentIn(tx, deviceId, active);
  // A configuration campaign's deployment (no build) is the profiles' to command (profiles/session-work.ts).
  if (!row || row.state !== 'scheduled' || row.buildId === null) return undefined;
  // A retry waits out its backoff; a campaign's device waits while the campaign is paused,
  // outside its maintenance window, or (download-only) for the operator's go-ahead (fumo-step.ts).
  if (row.notBefore !== null && now < row.notBefore) return undefined;
  const campaign = row.campaignId ? ((await findCampaign(tx, row.campaignId)) ?? { state: 'gone', mode: 'install' as const, window: null, forcedReason: null }) : undefined;
  const operation = fumoStepOf(row.mode, campaign, now);
  if (!operation) return undefined;
  const correlator = correlatorOf(row, row.attempts + 1);
  // Two-step, second half: the package is on the device; only the install is asked for.
  if (operation === 'Update') return { deploymentId: row.id, execUri: `${FUMO_NODE}/Update`, correlator };
  if (firmware === 'unread') return READ_FIRMWARE;
  const packages = await packageChoicesOf(tx, row.buildId);
  if (packages.some((p) => p.toVersion === firmware.version)) return undefined;
  // Moved to a build of higher securityVersion since its campaign started: it would refuse
  // any package of this build (405); the deployment ends instead (security-hold.ts).
  if (firmware.version !== null && (await endIfSecurityHeld(tx, row, firmware.version, now))) return undefined;
  const packageId = packageChooser(packages)(firmware.version);
  if (!packageId) return undefined;
  const token = issueDownloadToken(downloadKey, { packageId, deploymentId: row.id, deviceId, expiresAt: now + LINK_LIFETIME_MS });
  return { deploymentId: row.id, execUri: `${FUMO_NODE}/${operation}`, correlator, pkgUrl: `${serverUrl.replace(/\/dm$/, '')}/${DOWNLOAD_SEGMENT}/${token}`, packageId };
}

/** The wait before retry `attempt + 1` after a transient failure: doubles per attempt. */
export function retryBackoff(baseMs: number, attempts: number): number {
  return baseMs * 2 ** Math.max(0, attempts - 1);
}

/** Sending the plan: the attempt counts from here, and the package it delivers is recorded (in the session's transaction). */
export async function markFumoSent(tx: Tx, deploymentId: string, now: number, packageId?: string): Promise<void> {
  const row = await findDeployment(tx, deploymentId, { forUpdate: true });
  if (!row) return;
  const chosen = packageId && packageId !== row.packageId ? `, package ${packageId}` : '';
  await transition(tx, row, row.state as DeploymentState, `FUMO commands sent (attempt ${row.attempts + 1}${chosen})`, now, { attempts: row.attempts + 1, ...(packageId ? { packageId } : {}) });
}

/** A Generic Alert 1226 as the device sent it. */
export interface FumoAlert {
  type: string;
  data: string;
  correlator?: string;
}

type FumoOperation = 'download' | 'update' | 'downloadandupdate';

/**
 * The FUMO operation a Generic Alert reports on, from its Meta Type
 * (org.openmobilealliance.dm.firmwareupdate.download | .update | .downloadandupdate, any
 * case); undefined for any other alert. The one parser of FUMO alert types.
 */
export function fumoOperationOf(type: string): FumoOperation | undefined {
  const found = /firmwareupdate\.(downloadandupdate|download|update)$/i.exec(type)?.[1]?.toLowerCase();
  return found === 'download' || found === 'update' || found === 'downloadandupdate' ? found : undefined;
}

/** The device says it installed an update (a 2xx result of Update or DownloadAndUpdate): its FwV is worth reading now. */
export function reportsInstalled(alert: FumoAlert): boolean {
  const operation = fumoOperationOf(alert.type);
  return (operation === 'update' || operation === 'downloadandupdate') && /^2\d\d$/.test(alert.data.trim());
}

export interface FumoEffects {
  /** Statuses the device gave our FUMO Exec: 202 (accepted) or a refusal. */
  execStatuses: Array<{ deploymentId: string; code: number }>;
  alerts: FumoAlert[];
  /** ./DevDetail/FwV as the device just reported it. */
  firmwareVersion?: string;
}

/**
 * Applies what the device said to its deployments. Returns the campaigns whose deployments
 * moved, so their engine can react at once. Each deployment is read locked (forUpdate):
 * the engine's timeout may move the same one meanwhile.
 */
export async function applyFumo(tx: Tx, deviceId: string, effects: FumoEffects, now: number, log: Logger, options: { retryBackoffMs: number; results?: number[]; active?: ActiveDeployment }): Promise<Set<string>> {
  const moved = new Set<string>();
  const note = (row: DeploymentRow) => {
    if (row.campaignId) moved.add(row.campaignId);
  };
  for (const { deploymentId, code } of effects.execStatuses) {
    const row = await findDeployment(tx, deploymentId, { forUpdate: true });
    if (!row || row.state !== 'scheduled') continue;
    note(row);
    if (code === 200 || code === 202) await transition(tx, row, 'commanded', `device accepted the FUMO Exec (Status ${code})`, now);
    else await transition(tx, row, 'failed', `device refused the FUMO Exec (Status ${code})`, now, { resultCode: code });
  }
  for (const alert of effects.alerts) {
    const operation = fumoOperationOf(alert.type);
    if (!operation) continue;
    const [id, attempt] = (alert.correlator ?? '').split('.');
    const row = id ? await findDeployment(tx, id, { forUpdate: true }) : undefined;
    const code = Number(alert.data);
    // Late (an earlier attempt), duplicate (already moved on), or unknown: acknowledged, ignored.
    if (!row || row.deviceId !== deviceId || Number(attempt) !== row.attempts || !AWAITING_RESULT.has(row.state as DeploymentState) || !Number.isInteger(code)) {
      log.info({ correlator: alert.correlator, data: alert.data }, 'FUMO alert ignored (unknown, late or duplicate)');
      continue;
    }
    note(row);
    options.results?.push(code);
    if (operation === 'download' && code >= 200 && code < 300) {
      // Two-step: downloaded; the Update Exec goes out at the next plan.
      await transition(tx, row, 'scheduled', 'device downloaded the package (two-step); the update Exec follows', now, { mode: 'twoStepDownloaded' });
      continue;
    }
    const outcome = outcomeOfResult(code, row.attempts, MAX_ATTEMPTS);
    if (outcome.state === 'installing') {
      await transition(tx, row, 'installing', `device reported FUMO ${code}; waiting for it to report the new FwV`, now, { resultCode: code });
    } else if (outcome.state === 'scheduled') {
      const wait = retryBackoff(options.retryBackoffMs, row.attempts);
      await transition(tx, row, 'scheduled', `transient FUMO ${code}; retrying in ${Math.round(wait / 1000)} s (attempt ${row.attempts} of ${MAX_ATTEMPTS} failed)`, now, { resultCode: code, notBefore: now + wait });
    } else await transition(tx, row, 'failed', `device reported FUMO ${code}`, now, { resultCode: outcome.resultCode });
  }
  if (effects.firmwareVersion !== undefined) {
    const confirmed = await confirmByVersion(tx, deviceId, effects.firmwareVersion, now, options.active);
    if (confirmed) note(confirmed);
  }
  return moved;
}

/**
 * Success is confirmed when the device reports the target version in ./DevDetail/FwV. A
 * device reporting it before it was commanded (updated by other means since its campaign
 * started) is marked succeeded too, with nothing downloaded.
 */
async function confirmByVersion(tx: Tx, deviceId: string, version: string, now: number, active: ActiveDeployment | undefined): Promise<DeploymentRow | undefined> {
  const row: DeploymentRow | undefined = await activeDeploymentIn(tx, deviceId, active);
  if (!row || row.buildId === null || !['scheduled', 'installing', 'commanded', 'downloading'].includes(row.state)) return undefined;
  const build = await findBuild(tx, row.buildId);
  if (!build || build.version !== version) return undefined;
  await transition(tx, row, 'succeeded', row.state === 'scheduled' ? `device already runs FwV ${version}: nothing to download` : `device reports FwV ${version}`, now);
  return row;
}
