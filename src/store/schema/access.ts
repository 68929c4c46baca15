// API tokens (stored as SHA-256 hashes only) and the audit log of every write.
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { manufacturers } from './manufacturers.ts';

export const tokens = sqliteTable('tokens', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  role: text('role', { enum: ['admin', 'manufacturer', 'operator'] }).notNull(),
  manufacturerId: text('manufacturer_id').references(() => manufacturers.id),
  tokenHash: text('token_hash').notNull().unique(),
  createdBy: text('created_by'),
  createdAt: integer('created_at').notNull(),
  revokedAt: integer('revoked_at'),
});

export const auditEvents = sqliteTable(
  'audit_events',
  {
    id: text('id').primaryKey(),
    at: integer('at').notNull(),
    /** A token id, or "system" for the server's own work (package jobs). */
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    subject: text('subject').notNull(),
    /** JSON object with what a reader needs to understand the event; never secrets. */
    details: text('details').notNull().default('{}'),
  },
  (t) => [index('audit_subject').on(t.subject), index('audit_at').on(t.at)],
);
