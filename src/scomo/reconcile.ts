// The baseline rule, pure: what a device must do to match its model's baseline. Missing
// components are installed, outdated ones updated (an install of the baseline version over
// the deployed one), inactive ones activated, forbidden ones removed. A component whose
// last attempt at the same change failed is left alone (the failure stands until the
// baseline or the device changes), so a broken device is not commanded for ever.
import type { Baseline, InstalledComponent, ScomoOperation } from './schemas.ts';

export interface Change {
  operation: ScomoOperation;
  component: string;
  /** install: the version to install. */
  version?: string;
  /** remove/activate/deactivate: the deployed node (./SCOMO/Inventory/Deployed/<node>). */
  node?: string;
}

export function driftOf(baseline: Baseline, installed: InstalledComponent[]): Change[] {
  const changes: Change[] = [];
  const byComponent = new Map(installed.map((c) => [c.component, c]));
  for (const app of baseline.apps) {
    const present = byComponent.get(app.component);
    if (!present || present.version !== app.version) changes.push({ operation: 'install', component: app.component, version: app.version });
    else if (present.state === 'inactive') changes.push({ operation: 'activate', component: app.component, node: present.node });
  }
  for (const component of baseline.forbidden) {
    const present = byComponent.get(component);
    if (present) changes.push({ operation: 'remove', component, node: present.node });
  }
  return changes;
}

/** The same change as an earlier one: same operation on the same component (and version, for an install). */
export function sameChange(a: Pick<Change, 'operation' | 'component' | 'version'>, b: { operation: string; component: string; targetVersion: string | null }): boolean {
  return a.operation === b.operation && a.component === b.component && (a.operation !== 'install' || a.version === b.targetVersion);
}
