// Manufacturers, models and signing-key rows.
import { and, desc, eq } from 'drizzle-orm';
import { newId } from '../ids.ts';
import { manufacturers, models, signingKeys } from '../schema/index.ts';
import type { Tx } from './audit.ts';

export type ManufacturerRow = typeof manufacturers.$inferSelect;
export type ModelRow = typeof models.$inferSelect;
export type SigningKeyRow = typeof signingKeys.$inferSelect;

export function findManufacturerByName(tx: Tx, name: string): ManufacturerRow | undefined {
  return tx.select().from(manufacturers).where(eq(manufacturers.name, name)).get();
}

export function findManufacturerById(tx: Tx, id: string): ManufacturerRow | undefined {
  return tx.select().from(manufacturers).where(eq(manufacturers.id, id)).get();
}

export function insertManufacturer(tx: Tx, name: string, now: number): ManufacturerRow {
  const row = { id: newId('mfr'), name, createdAt: now };
  tx.insert(manufacturers).values(row).run();
  return row;
}

export function findModelByName(tx: Tx, name: string): ModelRow | undefined {
  return tx.select().from(models).where(eq(models.name, name)).get();
}

export function insertModel(tx: Tx, manufacturerId: string, name: string, now: number): ModelRow {
  const row = { id: newId('mdl'), manufacturerId, name, createdAt: now };
  tx.insert(models).values(row).run();
  return row;
}

export function keysOf(tx: Tx, manufacturerId: string): SigningKeyRow[] {
  return tx.select().from(signingKeys).where(eq(signingKeys.manufacturerId, manufacturerId)).orderBy(desc(signingKeys.createdAt)).all();
}

export function activeKeyOf(tx: Tx, manufacturerId: string): SigningKeyRow | undefined {
  return tx
    .select()
    .from(signingKeys)
    .where(and(eq(signingKeys.manufacturerId, manufacturerId), eq(signingKeys.status, 'active')))
    .get();
}

export function insertSigningKey(tx: Tx, row: typeof signingKeys.$inferInsert): void {
  tx.insert(signingKeys).values(row).run();
}

export function setKeyStatus(tx: Tx, keyid: string, status: SigningKeyRow['status'], now: number): void {
  tx.update(signingKeys)
    .set({ status, ...(status === 'revoked' ? { revokedAt: now } : {}) })
    .where(eq(signingKeys.keyid, keyid))
    .run();
}
