// The versions of a model whose build holds a securityVersion above a given one: devices
// running them refuse a build of that securityVersion (campaigns/security-hold.ts). Reads
// the model's builds, a short list, never the devices.
import { and, eq, gt } from 'drizzle-orm';
import type { Tx } from '../store.ts';

export async function versionsAboveSecurity(tx: Tx, model: string, securityVersion: number): Promise<Map<string, number>> {
  const { builds, models } = tx.t;
  const found = await tx.q
    .select({ version: builds.version, securityVersion: builds.securityVersion })
    .from(builds)
    .innerJoin(models, eq(models.id, builds.modelId))
    .where(and(eq(models.name, model), gt(builds.securityVersion, securityVersion)));
  return new Map(found.map((r) => [r.version, r.securityVersion]));
}
