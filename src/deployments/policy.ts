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
 * The delta from the version the device reports (its FwV), else the full image; nothing
 * when the device already runs the target.
 */
export function choosePackage(packages: PackageChoice[], deviceVersion: string | null, targetVersion: string): { packageId: string } | { none: 'already-current' | 'no-package' } {
  if (deviceVersion === targetVersion) return { none: 'already-current' };
  const delta = deviceVersion === null ? undefined : packages.find((p) => p.kind === 'bsdiff40' && p.fromVersion === deviceVersion);
  const chosen = delta ?? packages.find((p) => p.kind === 'full');
  return chosen ? { packageId: chosen.id } : { none: 'no-package' };
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
