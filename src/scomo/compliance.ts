// How a model's devices stand against its baseline, from the inventory each last reported:
// compliant, or missing a baseline app, running an outdated one, running one inactive, or
// running a forbidden one (a device may be several of these at once), or not read yet.
// The classes come from the reconcile rule itself (driftOf), so the console counts what
// reconciliation will act on. A model's devices are read in chunks, each chunk giving the
// event loop back, so a large model never stalls the server.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { modelDevicesWithApps } from '../store/queries/app-catalog.ts';
import { findBaseline } from '../store/queries/scomo.ts';
import { componentsOf, type InventoryRecord } from './inventory.ts';
import { driftOf } from './reconcile.ts';
import { type Baseline, baselineSchema, type InstalledComponent } from './schemas.ts';

export const COMPLIANCE_CLASSES = ['compliant', 'missing', 'outdated', 'inactive', 'forbidden', 'unread'] as const;
export type ComplianceClass = (typeof COMPLIANCE_CLASSES)[number];
export const isComplianceClass = (s: string): s is ComplianceClass => (COMPLIANCE_CLASSES as readonly string[]).includes(s);

export type ComplianceCounts = Record<ComplianceClass, number> & { total: number };

/** Devices read per query; `chunk` parameters exist so tests can cross chunk boundaries with a few devices. */
const CHUNK = 1000;

/** The classes of one device: 'unread' without an inventory, 'compliant' when nothing drifts. */
export function classify(baseline: Baseline, installed: InstalledComponent[] | undefined): ComplianceClass[] {
  if (!installed) return ['unread'];
  const present = new Set(installed.map((c) => c.component));
  const classes = new Set<ComplianceClass>();
  for (const change of driftOf(baseline, installed)) {
    if (change.operation === 'install') classes.add(present.has(change.component) ? 'outdated' : 'missing');
    else if (change.operation === 'activate') classes.add('inactive');
    else if (change.operation === 'remove') classes.add('forbidden');
  }
  return classes.size === 0 ? ['compliant'] : COMPLIANCE_CLASSES.filter((c) => classes.has(c));
}

function installedOf(row: { components: string | null; readAt: number | null }): InstalledComponent[] | undefined {
  if (row.components === null || !row.readAt) return undefined;
  return componentsOf(JSON.parse(row.components) as InventoryRecord).components;
}

async function baselineOf(ctx: Context, model: string): Promise<Baseline> {
  const row = await findBaseline(ctx.db, model);
  if (!row) throw new AppError('NOT_FOUND', `model ${model} has no baseline`);
  return baselineSchema.parse(JSON.parse(row.spec));
}

/** How many of the model's devices fall in each class. */
export async function complianceCounts(ctx: Context, model: string, chunk = CHUNK): Promise<ComplianceCounts> {
  const baseline = await baselineOf(ctx, model);
  const counts: ComplianceCounts = { total: 0, compliant: 0, missing: 0, outdated: 0, inactive: 0, forbidden: 0, unread: 0 };
  let after: string | undefined;
  for (;;) {
    const rows = await modelDevicesWithApps(ctx.db, model, after, chunk);
    for (const row of rows) {
      counts.total += 1;
      for (const c of classify(baseline, installedOf(row))) counts[c] += 1;
    }
    if (rows.length < chunk) return counts;
    after = rows.at(-1)?.id;
    await nextTurn();
  }
}

export interface ClassifiedDevice {
  id: string;
  lastSeen: string | null;
  readAt: string | null;
  classes: ComplianceClass[];
}

/** One page of the model's devices in a class, in id order after `after`. */
export async function devicesInClass(ctx: Context, model: string, wanted: ComplianceClass, after: string | undefined, limit: number, chunk = CHUNK): Promise<{ devices: ClassifiedDevice[]; next: string | null }> {
  const baseline = await baselineOf(ctx, model);
  const found: ClassifiedDevice[] = [];
  let cursor = after;
  for (;;) {
    const rows = await modelDevicesWithApps(ctx.db, model, cursor, chunk);
    for (const row of rows) {
      const classes = classify(baseline, installedOf(row));
      if (!classes.includes(wanted)) continue;
      // One more than the page: it says whether another page follows.
      if (found.length === limit) return { devices: found, next: found.at(-1)?.id ?? null };
      found.push({ id: row.id, lastSeen: row.lastSeen ? new Date(row.lastSeen).toISOString() : null, readAt: row.readAt ? new Date(row.readAt).toISOString() : null, classes });
    }
    if (rows.length < chunk) return { devices: found, next: null };
    cursor = rows.at(-1)?.id;
    await nextTurn();
  }
}
