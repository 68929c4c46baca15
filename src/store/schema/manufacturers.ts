// Manufacturers, their models, and their package signing keys (secret half encrypted).
import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

export const manufacturers = sqliteTable('manufacturers', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  createdAt: integer('created_at').notNull(),
});

export const models = sqliteTable('models', {
  id: text('id').primaryKey(),
  manufacturerId: text('manufacturer_id')
    .notNull()
    .references(() => manufacturers.id),
  name: text('name').notNull().unique(),
  createdAt: integer('created_at').notNull(),
});

export const signingKeys = sqliteTable(
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
    createdAt: integer('created_at').notNull(),
    revokedAt: integer('revoked_at'),
  },
  (t) => [index('signing_keys_manufacturer').on(t.manufacturerId), uniqueIndex('one_active_key').on(t.manufacturerId).where(sql`status = 'active'`)],
);
