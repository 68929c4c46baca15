// Which artifact-store objects the database points at. Every column that holds an
// artifact's SHA-256 is named here once, so garbage collection and the clean-up after a
// refused upload agree on what is in use; a test fails when a new column is not listed.
import { eq } from 'drizzle-orm';
import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core';
import type { Tables, Tx } from '../store.ts';

/**
 * Build images and .fota files, in the given tables (a transaction's `tx.t`). A payload
 * sits inside its .fota file today; its hash is counted too, so a payload stored on its
 * own one day is safe without a change here.
 */
export function artifactColumns(t: Tables): ReadonlyArray<{ table: SQLiteTable; column: SQLiteColumn }> {
  return [
    { table: t.builds, column: t.builds.sha256 },
    { table: t.packages, column: t.packages.fileSha256 },
    { table: t.packages, column: t.packages.payloadSha256 },
    { table: t.appVersions, column: t.appVersions.sha256 },
    { table: t.appPackages, column: t.appPackages.fileSha256 },
  ];
}

/** Every artifact some row references (builds and packages are hundreds of rows, not millions). */
export async function referencedArtifacts(tx: Tx): Promise<Set<string>> {
  const found = new Set<string>();
  for (const { table, column } of artifactColumns(tx.t)) {
    for (const row of await tx.q.selectDistinct({ sha256: column }).from(table)) {
      if (typeof row.sha256 === 'string') found.add(row.sha256);
    }
  }
  return found;
}

export async function isArtifactReferenced(tx: Tx, sha256: string): Promise<boolean> {
  for (const { table, column } of artifactColumns(tx.t)) {
    const found = await tx.q.select({ sha256: column }).from(table).where(eq(column, sha256)).limit(1);
    if (found.length > 0) return true;
  }
  return false;
}
