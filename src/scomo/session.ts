// SCOMO inside a DM session: the two hooks the session calls (src/dm/session/plan.ts and
// persist.ts), in the message's transaction.
//
// Planning, at each server turn: read ./SCOMO/Inventory/Deployed when the inventory is
// stale (or a component changed: an OperationComplete just came), then each listed
// component's leaves; once the inventory is whole, reconcile it against the model's
// baseline (reconcile.ts), and send the commands of every scheduled SCOMO deployment:
// Replace PkgID/Name/PkgURL under ./SCOMO/Download/<x> and Exec its DownloadInstall (or
// Download, then later Install under ./SCOMO/Inventory/Delivered/<x>), or Exec
// Activate/Deactivate/Remove under ./SCOMO/Inventory/Deployed/<x>/Operations.
// Applying: the device's Status on each Exec and its OperationComplete alerts move the
// deployments; what it reported of the inventory is stored.
//
// Only devices SCOMO concerns pay for it: a model with a baseline, or a device with an
// inventory or a SCOMO deployment on record. Others see no extra command.
import type { Logger } from 'pino';
import { DOWNLOAD_SEGMENT, issueDownloadToken } from '../deployments/download-grant.ts';
import { DELIVERED_ROOT, DEPLOYED_LEAVES, DEPLOYED_ROOT, DOWNLOAD_ROOT, describeScomoResult, isOperationComplete, isScomoSuccess, parseOperationComplete, TRANSIENT_SCOMO_RESULTS } from '../omadm/scomo.ts';
import { closedScomoDeploymentsOf, findDeviceApps, findScomoDeployment, openScomoDeploymentsOf, packagesOfApp, saveDeviceApps, type ScomoDeploymentRow } from '../store/queries/scomo.ts';
import { footingOf, type ScomoFooting } from '../store/queries/footing.ts';
import type { Tx } from '../store/store.ts';
import { componentsHeldOn } from '../store/queries/app-campaigns.ts';
import { scheduleChange, transitionScomo } from './deployments.ts';
import { componentsOf, type InventoryRecord, mergeInventory, unreadNodes } from './inventory.ts';
import { driftOf, sameChange } from './reconcile.ts';
import { baselineSchema } from './schemas.ts';

/** A command the session sends for SCOMO (the session's ServerCommand, purpose 'scomo'). */
export interface ScomoCommand {
  kind: 'Get' | 'Replace' | 'Exec';
  uri: string;
  data?: string;
  format?: string;
  correlator?: string;
  scomoId?: string;
  packageId?: string;
  purpose: 'scomo';
}

/** What the device said in this message, as far as SCOMO cares. */
export interface ScomoEffects {
  inventory: Record<string, string>;
  scomoStatuses: Array<{ kind: string; uri: string; code?: number; scomoId?: string }>;
  genericAlerts: Array<{ type: string; data: string; correlator?: string; source?: string }>;
}

export interface ScomoPlanInput {
  device: { id: string; model: string };
  effects: ScomoEffects;
  /** SCOMO commands sent and not yet answered, or waiting to be sent. */
  outstanding: Array<{ kind: string; uri: string; scomoId?: string; purpose: string }>;
  serverUrl: string;
  now: number;
  /** What the message's plan read of the device's SCOMO parts (store/queries/footing.ts), while it holds. */
  footing?: ScomoFooting;
}

export interface ScomoSettings {
  downloadKey: Uint8Array;
  inventoryMaxAgeMs: number;
  /** A commanded operation with no OperationComplete for this long has failed (the device lost it). */
  scomoTimeoutMs: number;
}

const LINK_LIFETIME_MS = 24 * 3600 * 1000;
/** Transient failures (download server away) are retried this many times in all. */
export const MAX_SCOMO_ATTEMPTS = 3;
/** The same change is not made more than this many times (a device that reports success but never the version). */
const MAX_SAME_CHANGE = 3;

export async function planScomo(tx: Tx, settings: ScomoSettings, input: ScomoPlanInput): Promise<ScomoCommand[]> {
  const { device, effects, now } = input;
  const footing = input.footing ?? (await footingOf(tx, device.id))?.scomo;
  if (!footing || (footing.baselineSpec === null && !footing.apps && !footing.hasOpen)) return [];
  const before = footing.apps ? recordOf(footing.apps) : undefined;
  const open = footing.hasOpen ? await openScomoDeploymentsOf(tx, device.id) : [];

  const commands: ScomoCommand[] = [];
  const outstanding = input.outstanding.filter((c) => c.purpose === 'scomo');
  const reading = outstanding.some((c) => c.kind === 'Get');
  const record = mergeInventory(before, effects.inventory, failedReads(effects), now) ?? before;
  const alerted = effects.genericAlerts.some((a) => isOperationComplete(a.type));
  const fresh = record !== undefined && now - record.readAt <= settings.inventoryMaxAgeMs && !(alerted && effects.inventory[DEPLOYED_ROOT] === undefined);
  if (!reading && !fresh) commands.push({ kind: 'Get', uri: DEPLOYED_ROOT, purpose: 'scomo' });
  else if (!reading && record && effects.inventory[DEPLOYED_ROOT] !== undefined) {
    // Leaves right after a listing only: a device that answers them with something else
    // is not asked again and again within one session.
    for (const node of unreadNodes(record)) for (const leaf of DEPLOYED_LEAVES) commands.push({ kind: 'Get', uri: `${DEPLOYED_ROOT}/${node}/${leaf}`, purpose: 'scomo' });
  }
  const settled = commands.length === 0 && !reading && record !== undefined && unreadNodes(record).length === 0;
  const installed = record ? componentsOf(record).components : [];

  // Reconcile only against an inventory read whole and fresh.
  if (settled && footing.baselineSpec !== null) {
    const baseline = baselineSchema.parse(JSON.parse(footing.baselineSpec));
    const closed = await closedScomoDeploymentsOf(tx, device.id, 200);
    const drift = driftOf(baseline, installed);
    // A component a running application campaign acts on is the campaign's until it ends (campaign-work.ts).
    const held = drift.length > 0 ? await componentsHeldOn(tx, device.id) : new Set<string>();
    for (const change of drift) {
      if (open.some((d) => d.component === change.component) || held.has(change.component)) continue;
      const earlier = closed.filter((d) => d.component === change.component);
      // A failure stands (its result code is the answer) until the baseline or the device changes.
      // So does a user's rejection (canceled): the baseline does not ask again and again.
      if (earlier[0] && (earlier[0].state === 'failed' || earlier[0].state === 'canceled') && sameChange(change, earlier[0])) continue;
      if (earlier.filter((d) => sameChange(change, d)).length >= MAX_SAME_CHANGE) continue;
      const id = await scheduleChange(tx, device, change, { reason: 'baseline', personId: 'baseline', name: 'baseline' }, now);
      // Undefined: an operator's request on the component committed since `open` was read; it goes first.
      const row = id === undefined ? undefined : await findScomoDeployment(tx, id);
      if (row) open.push(row);
    }
  }

  // An operation the device accepted and never reported, long past: it lost it. Recorded
  // when the device is next seen, like any result; the failure then stands as one would.
  const reported = new Set(effects.genericAlerts.flatMap((a) => (isOperationComplete(a.type) && a.correlator ? [a.correlator.split('.')[0] ?? ''] : [])));
  for (const row of open) {
    if (row.state !== 'commanded' || reported.has(row.id) || now - row.updatedAt <= settings.scomoTimeoutMs) continue;
    await transitionScomo(tx, row, 'failed', `no OperationComplete within ${Math.round(settings.scomoTimeoutMs / 60_000)} minutes of the device accepting the Exec`, now);
    row.state = 'failed';
  }

  const inFlight = new Set([...outstanding, ...effects.scomoStatuses].flatMap((c) => (c.scomoId ? [c.scomoId] : [])));
  for (const row of open) {
    if (row.state !== 'scheduled' || inFlight.has(row.id)) continue;
    commands.push(...(await commandsFor(tx, settings, input, row, installed)));
  }
  return commands;
}

/** The stored record; its readAt column is the truth (set to 0 when a re-read is due). */
function recordOf(row: { components: string; readAt: number }): InventoryRecord {
  return { nodes: (JSON.parse(row.components) as InventoryRecord).nodes, readAt: row.readAt };
}

const isUnderDeployed = (uri: string) => uri === DEPLOYED_ROOT || uri.startsWith(`${DEPLOYED_ROOT}/`);

/**
 * SCOMO Gets the device refused in this message. On the listing that means nothing is
 * deployed (an interior node with no children is absent from a simple DM tree).
 */
/** A node of ./SCOMO/Inventory/Deployed (mergeInventory reads those). */
function isScomoInventory(uri: string): boolean {
  return uri === DEPLOYED_ROOT || uri.startsWith(`${DEPLOYED_ROOT}/`);
}

function failedReads(effects: ScomoEffects): string[] {
  return effects.scomoStatuses.flatMap((s) => (s.kind === 'Get' && s.code !== undefined && s.code >= 300 ? [s.uri] : []));
}

async function commandsFor(tx: Tx, settings: ScomoSettings, input: ScomoPlanInput, row: ScomoDeploymentRow, installed: Array<{ component: string; version: string }>): Promise<ScomoCommand[]> {
  const correlator = `${row.id}.${row.attempts + 1}`;
  const base = { scomoId: row.id, purpose: 'scomo' as const };
  const exec = (uri: string, packageId?: string): ScomoCommand => ({ kind: 'Exec', uri, correlator, ...base, ...(packageId ? { packageId } : {}) });
  switch (row.operation) {
    case 'install': {
      if (row.mode === 'twoStepDownloaded') return [exec(`${DELIVERED_ROOT}/${row.node}/Operations/Install`)];
      if (!row.appVersionId) return [];
      const packages = await packagesOfApp(tx, row.appVersionId);
      const current = installed.find((c) => c.component === row.component)?.version;
      const chosen = packages.find((p) => p.kind === 'bsdiff40' && p.fromVersion === current) ?? packages.find((p) => p.kind === 'full');
      if (!chosen) return [];
      const token = issueDownloadToken(settings.downloadKey, { packageId: chosen.id, deploymentId: row.id, deviceId: input.device.id, expiresAt: input.now + LINK_LIFETIME_MS });
      const url = `${input.serverUrl.replace(/\/dm$/, '')}/${DOWNLOAD_SEGMENT}/${token}`;
      const node = `${DOWNLOAD_ROOT}/${row.node}`;
      const operation = row.mode === 'twoStep' ? 'Download' : 'DownloadInstall';
      return [
        { kind: 'Replace', uri: `${node}/PkgID`, data: `${row.component}-${row.targetVersion ?? ''}`, format: 'chr', ...base },
        { kind: 'Replace', uri: `${node}/Name`, data: row.component, format: 'chr', ...base },
        { kind: 'Replace', uri: `${node}/PkgURL`, data: url, format: 'chr', ...base },
        exec(`${node}/Operations/${operation}`, chosen.id),
      ];
    }
    case 'remove':
      return [exec(`${DEPLOYED_ROOT}/${row.node}/Operations/Remove`)];
    case 'activate':
      return [exec(`${DEPLOYED_ROOT}/${row.node}/Operations/Activate`)];
    case 'deactivate':
      return [exec(`${DEPLOYED_ROOT}/${row.node}/Operations/Deactivate`)];
  }
}

/** Sending an Exec: the attempt counts from here, and the package it delivers is recorded. */
export async function markScomoSent(tx: Tx, sent: Array<{ kind: string; scomoId?: string; packageId?: string }>, now: number): Promise<void> {
  for (const c of sent) {
    if (c.kind !== 'Exec' || !c.scomoId) continue;
    const row = await findScomoDeployment(tx, c.scomoId, { forUpdate: true });
    if (!row || row.state !== 'scheduled') continue;
    await transitionScomo(tx, row, 'scheduled', `SCOMO Exec sent (attempt ${row.attempts + 1})`, now, { attempts: row.attempts + 1, ...(c.packageId ? { appPackageId: c.packageId } : {}) });
  }
}

/**
 * What the device said, applied: the inventory it reported, its Status on each SCOMO Exec,
 * and its OperationComplete alerts. Duplicate, late and unknown alerts are acknowledged
 * (the session's Status 200) and ignored.
 */
export async function applyScomo(tx: Tx, deviceId: string, effects: ScomoEffects, now: number, log: Logger): Promise<void> {
  const alerted = effects.genericAlerts.some((a) => isOperationComplete(a.type));
  const failed = failedReads(effects);
  // A message that reports nothing of the inventory (no listing, no leaf, no refused read)
  // leaves the record as it is (mergeInventory): unless a component changed, it is not read.
  const touched = alerted || failed.length > 0 || Object.keys(effects.inventory).some(isUnderDeployed);
  const stored = touched ? await findDeviceApps(tx, deviceId) : undefined;
  const before = stored ? recordOf(stored) : undefined;
  const merged = mergeInventory(before, effects.inventory, failed, now);
  if (merged) await saveDeviceApps(tx, { deviceId, components: JSON.stringify({ nodes: merged.nodes, readAt: merged.readAt }), readAt: merged.readAt });
  // A component changed and the re-read has not come yet: stale, so the next session reads it.
  else if (alerted && stored) await saveDeviceApps(tx, { ...stored, readAt: 0 });

  for (const status of effects.scomoStatuses) {
    if (status.kind === 'Get' && status.code !== undefined && status.code >= 300 && status.uri !== DEPLOYED_ROOT) log.info({ uri: status.uri, code: status.code }, 'SCOMO inventory leaf not readable');
    if (status.kind !== 'Exec' || !status.scomoId || status.code === undefined) continue;
    const row = await findScomoDeployment(tx, status.scomoId, { forUpdate: true });
    if (!row || row.state !== 'scheduled' || row.deviceId !== deviceId) continue;
    if (status.code === 202) await transitionScomo(tx, row, 'commanded', `device accepted the SCOMO Exec (Status 202)`, now);
    else if (status.code === 200) await transitionScomo(tx, row, 'succeeded', 'device completed the SCOMO Exec at once (Status 200)', now);
    else await transitionScomo(tx, row, 'failed', `device refused the SCOMO Exec (Status ${status.code})`, now, { resultCode: status.code });
  }

  for (const alert of effects.genericAlerts) {
    if (!isOperationComplete(alert.type)) continue;
    const [id, attempt] = (alert.correlator ?? '').split('.');
    const row = id ? await findScomoDeployment(tx, id, { forUpdate: true }) : undefined;
    const result = parseOperationComplete(alert.data);
    if (!row || row.deviceId !== deviceId || Number(attempt) !== row.attempts || !['scheduled', 'commanded'].includes(row.state) || !result) {
      log.info({ correlator: alert.correlator?.slice(0, 100), data: alert.data.slice(0, 200) }, 'SCOMO alert ignored (unknown, late, duplicate or unreadable)');
      continue;
    }
    const code = result.resultCode;
    const delivered = row.operation === 'install' && row.mode === 'twoStep' && /\/Operations\/Download$/.test(alert.source ?? '');
    if (isScomoSuccess(code) && delivered) {
      await transitionScomo(tx, row, 'scheduled', `device downloaded the package (SCOMO ${code}); the Install Exec follows`, now, { mode: 'twoStepDownloaded', resultCode: code });
    } else if (isScomoSuccess(code)) {
      await transitionScomo(tx, row, 'succeeded', `device reported SCOMO ${describeScomoResult(code)}`, now, { resultCode: code });
    } else if (TRANSIENT_SCOMO_RESULTS.has(code) && row.attempts < MAX_SCOMO_ATTEMPTS) {
      await transitionScomo(tx, row, 'scheduled', `transient SCOMO ${describeScomoResult(code)}; retrying at the next session (attempt ${row.attempts} of ${MAX_SCOMO_ATTEMPTS} failed)`, now, { resultCode: code });
    } else {
      await transitionScomo(tx, row, 'failed', `device reported SCOMO ${describeScomoResult(code)}`, now, { resultCode: code });
    }
  }
}
