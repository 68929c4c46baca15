// Manufacturers, models and signing-key rows.
import { and, desc, eq, sql } from 'drizzle-orm';
import { forUpdate } from '../dialect.ts';
import { newId } from '../ids.ts';
import type { manufacturers, models, signingKeys } from '../schema/index.ts';
import type { Tx } from '../store.ts';
import { preparedPer, preparedRead } from './prepared.ts';

export type ManufacturerRow = typeof manufacturers.$inferSelect;
export type ModelRow = typeof models.$inferSelect;
export type SigningKeyRow = typeof signingKeys.$inferSelect;

export async function findManufacturerByName(tx: Tx, name: string): Promise<ManufacturerRow | undefined> {
  const { manufacturers } = tx.t;
  const [row] = await tx.q.select().from(manufacturers).where(eq(manufacturers.name, name));
  return row;
}

/**
 * With `forUpdate`, for a transaction that decides on the manufacturer's signing keys (is
 * there an active one?): on PostgreSQL the row stays locked until commit, so two package
 * jobs of a new manufacturer do not each create an active key.
 */
export async function findManufacturerById(tx: Tx, id: string, options: { forUpdate?: boolean } = {}): Promise<ManufacturerRow | undefined> {
  const { manufacturers } = tx.t;
  const query = tx.q.select().from(manufacturers).where(eq(manufacturers.id, id));
  const [row] = await (options.forUpdate ? forUpdate(tx, query) : query);
  return row;
}

/**
 * The manufacturer of that name, created if there is none. Insert-or-nothing then a read,
 * not a read then an insert: two servers creating the first token of a new manufacturer
 * both found none, and the second insert failed on the unique name (409). On PostgreSQL
 * the second insert waits for the first to commit, inserts nothing, and reads its row.
 */
export async function findOrInsertManufacturer(tx: Tx, name: string, now: number): Promise<ManufacturerRow> {
  const { manufacturers } = tx.t;
  const [inserted] = await tx.q.insert(manufacturers).values({ id: newId('mfr'), name, createdAt: now }).onConflictDoNothing({ target: manufacturers.name }).returning();
  if (inserted) return inserted;
  const found = await findManufacturerByName(tx, name);
  if (!found) throw new Error(`manufacturer ${name} neither inserted nor found`);
  return found;
}

// Prepared once: every upload looks its model up, twice (builds/upload.ts).
const modelByName = preparedRead(({ q, t: { models } }) => q.select().from(models).where(eq(models.name, sql.placeholder('name'))).prepare());

export async function findModelByName(tx: Tx, name: string): Promise<ModelRow | undefined> {
  return (await modelByName(tx).execute({ name }))[0];
}

// Prepared once: every upload runs it, and building and compiling it cost more than running it.
const modelInsert = preparedPer(({ q, t: { models } }) =>
  q
    .insert(models)
    .values({ id: sql.placeholder('id'), manufacturerId: sql.placeholder('manufacturerId'), name: sql.placeholder('name'), createdAt: sql.placeholder('createdAt') })
    .onConflictDoNothing({ target: models.name })
    .returning()
    .prepare(),
);

/**
 * The model of that name, created for `manufacturerId` if there is none: insert-or-nothing
 * then a read, as findOrInsertManufacturer, so two first uploads of a new model through two
 * servers both succeed. The row may belong to another manufacturer: the caller checks.
 */
export async function findOrInsertModel(tx: Tx, manufacturerId: string, name: string, now: number): Promise<ModelRow> {
  const [inserted] = await modelInsert(tx).execute({ id: newId('mdl'), manufacturerId, name, createdAt: now });
  if (inserted) return inserted;
  const found = await findModelByName(tx, name);
  if (!found) throw new Error(`model ${name} neither inserted nor found`);
  return found;
}

export async function keysOf(tx: Tx, manufacturerId: string): Promise<SigningKeyRow[]> {
  const { signingKeys } = tx.t;
  return tx.q.select().from(signingKeys).where(eq(signingKeys.manufacturerId, manufacturerId)).orderBy(desc(signingKeys.createdAt));
}

export async function activeKeyOf(tx: Tx, manufacturerId: string): Promise<SigningKeyRow | undefined> {
  const { signingKeys } = tx.t;
  const [row] = await tx.q
    .select()
    .from(signingKeys)
    .where(and(eq(signingKeys.manufacturerId, manufacturerId), eq(signingKeys.status, 'active')));
  return row;
}

export async function insertSigningKey(tx: Tx, row: typeof signingKeys.$inferInsert): Promise<void> {
  await tx.q.insert(tx.t.signingKeys).values(row);
}

export async function setKeyStatus(tx: Tx, keyid: string, status: SigningKeyRow['status'], now: number): Promise<void> {
  const { signingKeys } = tx.t;
  await tx.q
    .update(signingKeys)
    .set({ status, ...(status === 'revoked' ? { revokedAt: now } : {}) })
    .where(eq(signingKeys.keyid, keyid));
}
