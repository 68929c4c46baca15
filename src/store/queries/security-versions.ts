// The versions of a model whose build holds a securityVersion above a given one: devices
// running them refuse a build of that securityVersion (campaigns/security-hold.ts). Reads
// the model's builds, a short list, never the devices.
import { and, eq, gt, sql } from 'drizzle-orm';
import { rows } from '../dialect.ts';
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

/**
 * Whether a device running `version` refuses the build `buildId` as a downgrade: the
 * securityVersion of the model's build of that version, when it is above the target's;
 * undefined otherwise (also for a version the server has no build of). One indexed read,
 * made as a deployment is about to be commanded (deployments/security-hold.ts).
 */
export async function securityAboveTarget(tx: Tx, buildId: string, version: string): Promise<{ target: { version: string; securityVersion: number }; running: number } | undefined> {
  const [found] = await rows<{ version: string; securityVersion: number | string; running: number | string }>(
    tx,
    sql`SELECT b.version AS version, b.security_version AS "securityVersion", r.security_version AS running FROM builds b JOIN builds r ON r.model_id = b.model_id AND r.version = ${version} WHERE b.id = ${buildId} AND r.security_version > b.security_version`,
  );
  return found ? { target: { version: found.version, securityVersion: Number(found.securityVersion) }, running: Number(found.running) } : undefined;
}

/** The versions the devices of a campaign's canceled deployments run now, with how many (those left out after its start are among them). */
export async function canceledDevicesByVersion(tx: Tx, campaignId: string): Promise<Map<string, number>> {
  const found = await rows<{ version: string; n: number | string }>(
    tx,
    sql`SELECT d.firmware_version AS version, count(*) AS n FROM deployments dep JOIN devices d ON d.id = dep.device_id WHERE dep.campaign_id = ${campaignId} AND dep.state = 'canceled' AND d.firmware_version IS NOT NULL GROUP BY d.firmware_version`,
  );
  return new Map(found.map((r) => [r.version, Number(r.n)]));
}
