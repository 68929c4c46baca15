// People and their API tokens (stored as SHA-256 hashes only), the audit log of every write, and console sessions ended early.
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { manufacturers } from './manufacturers.ts';

/**
 * The people who hold tokens. Four eyes compares people, not tokens: one person with two
 * tokens is still one pair of eyes, and two people whose tokens share a name are two.
 */
export const people = sqliteTable('people', {
  id: text('id').primaryKey(),
  /** What an admin types to name the person (`fota token create --person LOGIN`). */
  login: text('login').notNull().unique(),
  /** What the console, the audit log and refusals show. */
  displayName: text('display_name').notNull(),
  createdAt: integer('created_at').notNull(),
});

export const tokens = sqliteTable(
  'tokens',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    /**
     * Whose token it is. Set on every token. The column allows null only because it was
     * added to a table with rows: a data migration gave each of those its own person.
     */
    personId: text('person_id').references(() => people.id),
    role: text('role', { enum: ['admin', 'manufacturer', 'operator'] }).notNull(),
    manufacturerId: text('manufacturer_id').references(() => manufacturers.id),
    tokenHash: text('token_hash').notNull().unique(),
    createdBy: text('created_by'),
    createdAt: integer('created_at').notNull(),
    revokedAt: integer('revoked_at'),
  },
  (t) => [index('tokens_person').on(t.personId)],
);

export const auditEvents = sqliteTable(
  'audit_events',
  {
    id: text('id').primaryKey(),
    at: integer('at').notNull(),
    /** A person id, or "system"/"engine" for the server's own work (package jobs, campaign steps). */
    actor: text('actor').notNull(),
    /** The person's display name when the event was recorded (null for the server's own work). */
    actorName: text('actor_name'),
    /** The token the person used (null for the server's own work). */
    tokenId: text('token_id'),
    action: text('action').notNull(),
    subject: text('subject').notNull(),
    /** JSON object with what a reader needs to understand the event; never secrets. */
    details: text('details').notNull().default('{}'),
  },
  (t) => [index('audit_subject').on(t.subject), index('audit_at').on(t.at)],
);

/**
 * Console sessions ended by sign-out before they would have expired. The session cookie is
 * sealed and opens on any server process without server state; this list is what every
 * process consults as well, so a copied cookie stops working everywhere at sign-out. Only
 * an authentic session cookie adds a row, and a row is pruned once its session would have
 * expired anyway: the table holds at most the sign-outs of the last session lifetime.
 */
export const revokedConsoleSessions = sqliteTable(
  'revoked_console_sessions',
  {
    /** The random session id sealed in the cookie (not the cookie, not the token). */
    id: text('id').primaryKey(),
    /** When the session would have ended by itself; the row is useless after it. */
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [index('revoked_console_sessions_expires').on(t.expiresAt)],
);
