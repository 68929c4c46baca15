// The device's application inventory as read over DM, pure: the server Gets
// ./SCOMO/Inventory/Deployed (the node names of the deployed components), then each
// component's ID, Name, Version and State leaves. What the device returns is hostile until
// checked: node names must be one safe URI segment, ids and versions match the package
// rules, and a device listing more than MAX_COMPONENTS is read only that far.
import { appVersionSchema, componentIdSchema } from '../packages/app-manifest.ts';
import { DEPLOYED_LEAVES, DEPLOYED_ROOT } from '../omadm/scomo.ts';
import type { InstalledComponent } from './schemas.ts';

export const MAX_COMPONENTS = 64;
const NODE_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const MAX_NAME = 200;

/** What the server knows of a device's components: listed nodes, and the leaves read so far. */
export interface InventoryRecord {
  nodes: Array<{ node: string; component?: string; version?: string; state?: string; name?: string }>;
  readAt: number;
}

/** The nodes of a Deployed listing (Format node: names joined by '/'), bounded and cleaned; invalid names dropped. */
export function parseListing(data: string): { nodes: string[]; dropped: number } {
  const names = data.length > 64 * 1024 ? [] : data.split('/').map((n) => n.trim()).filter((n) => n !== '');
  const valid = [...new Set(names.filter((n) => NODE_NAME.test(n) && n !== '.' && n !== '..'))];
  return { nodes: valid.slice(0, MAX_COMPONENTS), dropped: names.length - Math.min(valid.length, MAX_COMPONENTS) };
}

/**
 * The record after this message: a new listing (or a refused Get of the listing: nothing
 * deployed) starts it over; leaves fill in the listed nodes. `failedReads`: the URIs of SCOMO
 * Gets the device refused in this message. Undefined when the message said nothing about SCOMO.
 */
export function mergeInventory(before: InventoryRecord | undefined, reported: Record<string, string>, failedReads: string[], now: number): InventoryRecord | undefined {
  let record = before;
  let changed = false;
  const listing = reported[DEPLOYED_ROOT];
  if (failedReads.includes(DEPLOYED_ROOT)) {
    record = { nodes: [], readAt: now };
    changed = true;
  } else if (listing !== undefined) {
    // A new listing reads every leaf again: what the device says now is what counts.
    record = { nodes: parseListing(listing).nodes.map((node) => ({ node })), readAt: now };
    changed = true;
  }
  if (!record) return undefined;
  // A component whose ID or Version cannot be read is gone (or broken): it is left out.
  const unreadable = new Set(failedReads.flatMap((uri) => (/\/(ID|Version)$/.test(uri) ? [uri.slice(DEPLOYED_ROOT.length + 1).split('/')[0] ?? ''] : [])));
  if (unreadable.size > 0 && record.nodes.some((n) => unreadable.has(n.node))) changed = true;
  const nodes = record.nodes.filter((n) => !unreadable.has(n.node)).map((n) => ({ ...n }));
  for (const entry of nodes) {
    for (const leaf of DEPLOYED_LEAVES) {
      const value = reported[`${DEPLOYED_ROOT}/${entry.node}/${leaf}`];
      if (value === undefined) continue;
      changed = true;
      const v = value.trim();
      if (leaf === 'ID') entry.component = v;
      else if (leaf === 'Version') entry.version = v;
      else if (leaf === 'State') entry.state = v;
      else entry.name = v.slice(0, MAX_NAME);
    }
  }
  return changed ? { nodes, readAt: record.readAt } : undefined;
}

/** Nodes whose ID or Version the server has not read yet. */
export function unreadNodes(record: InventoryRecord): string[] {
  return record.nodes.filter((n) => n.component === undefined || n.version === undefined).map((n) => n.node);
}

/**
 * The components a complete record describes. A node whose id or version breaks the rules
 * is left out (and counted): the baseline cannot reason about what it cannot name.
 * State: "active" or "inactive" (SCOMO also writes 10/20 for them); anything else active.
 */
export function componentsOf(record: InventoryRecord): { components: InstalledComponent[]; rejected: number } {
  const components: InstalledComponent[] = [];
  let rejected = 0;
  const seen = new Set<string>();
  for (const n of record.nodes) {
    const id = componentIdSchema.safeParse(n.component);
    const version = appVersionSchema.safeParse(n.version);
    if (!id.success || !version.success || seen.has(id.data)) {
      rejected += 1;
      continue;
    }
    seen.add(id.data);
    const state = /^(inactive|20)$/i.test(n.state ?? '') ? 'inactive' : 'active';
    components.push({ node: n.node, component: id.data, version: version.data, state, ...(n.name ? { name: n.name } : {}) });
  }
  return { components, rejected };
}
