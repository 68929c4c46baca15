// Pure rules of a deployment: which package a device gets, and how a FUMO result code
// moves the state. No I/O here, so every rule is checked by a table test.
import { isFumoSuccess, TRANSIENT_FUMO_RESULTS } from '../omadm/fumo-results.ts';

export type DeploymentState = 'pending' | 'scheduled' | 'commanded' | 'downloading' | 'installing' | 'succeeded' | 'failed' | 'canceled';

export interface PackageChoice {
  id: string;
  kind: 'bsdiff40' | 'full';
  fromVersion: string | null;
}

/**
 * Which of a build's packages a device gets: the delta from the version it reports (its
 * FwV), else the full image; undefined when the build has neither. Made once per build, so
 * a campaign of a million devices asks it a million times without searching the list.
 */
export function packageChooser(packages: PackageChoice[]): (deviceVersion: string | null) => string | undefined {
  const deltas = new Map(packages.flatMap((p) => (p.kind === 'bsdiff40' && p.fromVersion !== null ? [[p.fromVersion, p.id] as const] : [])));
  const full = packages.find((p) => p.kind === 'full')?.id;
  return (deviceVersion) => (deviceVersion === null ? undefined : deltas.get(deviceVersion)) ?? full;
}

/** The package for one device; nothing when it already runs the target. */
export function choosePackage(packages: PackageChoice[], deviceVersion: string | null, targetVersion: string): { packageId: string } | { none: 'already-current' | 'no-package' } {
  if (deviceVersion === targetVersion) return { none: 'already-current' };
  const packageId = packageChooser(packages)(deviceVersion);
  return packageId ? { packageId } : { none: 'no-package' };
}


export type AlertOutcome =
  | { state: 'installing' }
  | { state: 'scheduled'; retry: true }
  | { state: 'failed'; resultCode: number };

/** What a FUMO result code (Generic Alert 1226 Data) does to a deployment under way. */
export function outcomeOfResult(code: number, attempts: number, maxAttempts: number): AlertOutcome {
  if (isFumoSuccess(code)) return { state: 'installing' };
  if (TRANSIENT_FUMO_RESULTS.has(code) && attempts < maxAttempts) return { state: 'scheduled', retry: true };
  return { state: 'failed', resultCode: code };
}

/** States in which the device is working on the update and its alert is expected. */
export const AWAITING_RESULT: ReadonlySet<DeploymentState> = new Set(['commanded', 'downloading']);
