// Which artifact-store objects the database points at. Every column that holds an
// artifact's SHA-256 is named here once, so garbage collection and the clean-up after a
// refused upload agree on what is in use; a test fails when a new column is not listed.
import { eq } from 'drizzle-orm';
import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core';
import { builds, packages } from '../schema/index.ts';
import type { Tx } from './audit.ts';

/**
 * Build images and .fota files. A payload sits inside its .fota file today; its hash is
 * counted too, so a payload stored on its own one day is safe without a change here.
 */
export const ARTIFACT_COLUMNS: ReadonlyArray<{ table: SQLiteTable; column: SQLiteColumn }> = [
  { table: builds, column: builds.sha256 },
  { table: packages, column: packages.fileSha256 },
  { table: packages, column: packages.payloadSha256 },
];

/** Every artifact some row references (builds and packages are hundreds of rows, not millions). */
export function referencedArtifacts(tx: Tx): Set<string> {
  const found = new Set<string>();
  for (const { table, column } of ARTIFACT_COLUMNS) {
    for (const row of tx.selectDistinct({ sha256: column }).from(table).all()) {
      if (typeof row.sha256 === 'string') found.add(row.sha256);
    }
  }
  return found;
}

export function isArtifactReferenced(tx: Tx, sha256: string): boolean {
  return ARTIFACT_COLUMNS.some(({ table, column }) => tx.select({ sha256: column }).from(table).where(eq(column, sha256)).limit(1).get() !== undefined);
}
