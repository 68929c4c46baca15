// PostgreSQL twin of ../schema/manufacturers.ts: the same tables, columns and indexes (test/store/schemas.test.ts).
// Manufacturers, their models, and their package signing keys (secret half encrypted).
import { sql } from 'drizzle-orm';
import { bigint, index, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';

export const manufacturers = pgTable('manufacturers', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
});

export const models = pgTable('models', {
  id: text('id').primaryKey(),
  manufacturerId: text('manufacturer_id')
    .notNull()
    .references(() => manufacturers.id),
  name: text('name').notNull().unique(),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
});

export const signingKeys = pgTable(
  'signing_keys',
  {
    id: text('id').primaryKey(),
    manufacturerId: text('manufacturer_id')
      .notNull()
      .references(() => manufacturers.id),
    keyid: text('keyid').notNull().unique(),
    publicKey: text('public_key').notNull(),
    /** tweetnacl.secretbox of the 64-byte secret key under the master key (base64). */
    sealedSecretKey: text('sealed_secret_key').notNull(),
    nonce: text('nonce').notNull(),
    /** active: signs new packages; retired: verifies only; revoked: trusted no more. */
    status: text('status', { enum: ['active', 'retired', 'revoked'] }).notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    revokedAt: bigint('revoked_at', { mode: 'number' }),
  },
  (t) => [index('signing_keys_manufacturer').on(t.manufacturerId), uniqueIndex('one_active_key').on(t.manufacturerId).where(sql`status = 'active'`)],
);
