// Rows of a manufacturer's offline signing: roots of offline keys, server-side
// revocations, the require-offline-signing policy, and the statement of each build.
import { asc, desc, eq, sql } from 'drizzle-orm';
import type { buildStatements, offlinePolicies, offlineRoots } from '../schema/index.ts';
import type { Tx } from '../store.ts';
import { preparedRead } from './prepared.ts';

export type OfflineRootRow = typeof offlineRoots.$inferSelect;
export type OfflinePolicyRow = typeof offlinePolicies.$inferSelect;
export type BuildStatementRow = typeof buildStatements.$inferSelect;

// Prepared once, as every upload reads both (manufacturers/offline-keys.ts offlineTrustOf).
const roots = preparedRead(({ q, t: { offlineRoots } }) =>
  q.select().from(offlineRoots).where(eq(offlineRoots.manufacturerId, sql.placeholder('manufacturerId'))).orderBy(asc(offlineRoots.version)).prepare(),
);
const policy = preparedRead(({ q, t: { offlinePolicies } }) => q.select().from(offlinePolicies).where(eq(offlinePolicies.manufacturerId, sql.placeholder('manufacturerId'))).prepare());

/** Every root registered for the manufacturer, oldest first (the chain devices follow). */
export async function rootsOf(tx: Tx, manufacturerId: string): Promise<OfflineRootRow[]> {
  return roots(tx).execute({ manufacturerId });
}

export async function latestRootOf(tx: Tx, manufacturerId: string): Promise<OfflineRootRow | undefined> {
  const { offlineRoots } = tx.t;
  const [row] = await tx.q.select().from(offlineRoots).where(eq(offlineRoots.manufacturerId, manufacturerId)).orderBy(desc(offlineRoots.version)).limit(1);
  return row;
}

export async function insertRoot(tx: Tx, row: OfflineRootRow): Promise<void> {
  await tx.q.insert(tx.t.offlineRoots).values(row);
}

export async function revokedOfflineKeysOf(tx: Tx, manufacturerId: string): Promise<Set<string>> {
  const { offlineRevocations } = tx.t;
  const rows = await tx.q.select({ keyid: offlineRevocations.keyid }).from(offlineRevocations).where(eq(offlineRevocations.manufacturerId, manufacturerId));
  return new Set(rows.map((r) => r.keyid));
}

export async function insertRevocation(tx: Tx, manufacturerId: string, keyid: string, now: number): Promise<void> {
  await tx.q.insert(tx.t.offlineRevocations).values({ manufacturerId, keyid, revokedAt: now }).onConflictDoNothing();
}

export async function offlinePolicyOf(tx: Tx, manufacturerId: string): Promise<OfflinePolicyRow | undefined> {
  return (await policy(tx).execute({ manufacturerId }))[0];
}

export async function saveOfflinePolicy(tx: Tx, row: OfflinePolicyRow): Promise<void> {
  const { offlinePolicies } = tx.t;
  await tx.q
    .insert(offlinePolicies)
    .values(row)
    .onConflictDoUpdate({ target: offlinePolicies.manufacturerId, set: { requireOfflineSigning: row.requireOfflineSigning, updatedAt: row.updatedAt } });
}

export async function insertBuildStatement(tx: Tx, row: BuildStatementRow): Promise<void> {
  await tx.q.insert(tx.t.buildStatements).values(row);
}

export async function statementOfBuild(tx: Tx, buildId: string): Promise<BuildStatementRow | undefined> {
  const { buildStatements } = tx.t;
  const [row] = await tx.q.select().from(buildStatements).where(eq(buildStatements.buildId, buildId));
  return row;
}
