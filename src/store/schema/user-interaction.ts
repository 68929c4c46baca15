// Asking the device's user before the server acts (DM user-interaction alerts 1100-1104):
// which campaigns and deployments require it, and every prompt sent with its answer.
// dm/session/user-gate.ts is the step that uses them.
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** A campaign's or one deployment's requirement to ask the user first (`confirm` when created). */
export const confirmationPolicies = sqliteTable('confirmation_policies', {
  /** The campaign (cmp_) or deployment (dep_) that requires it. */
  subjectId: text('subject_id').primaryKey(),
  /** What the user is asked (shown with Alert 1101). */
  text: text('text').notNull(),
  minSeconds: integer('min_seconds'),
  /** How long the device waits for its user (MAXDT). */
  maxSeconds: integer('max_seconds').notNull(),
  /** What silence means on the device (DR): accept, reject, or nothing (a timeout). */
  defaultResponse: text('default_response', { enum: ['accept', 'reject'] }),
  /** Ask before each step (two-step FUMO: the download and the install; each retry); false: once per subject. */
  eachStep: integer('each_step', { mode: 'boolean' }).notNull().default(false),
  createdAt: integer('created_at').notNull(),
});

/** One prompt sent to a device, and its user's answer once the device's Status came. */
export const userPrompts = sqliteTable(
  'user_prompts',
  {
    id: text('id').primaryKey(),
    deviceId: text('device_id').notNull(),
    /** What the answer gates (a deployment today; a SCOMO job, a profile apply later) and its attempt. */
    subjectId: text('subject_id').notNull(),
    attempt: integer('attempt').notNull(),
    /** The alert code (1100-1104) and the prompt. */
    code: text('code').notNull(),
    text: text('text').notNull(),
    askedAt: integer('asked_at').notNull(),
    answeredAt: integer('answered_at'),
    /** accepted | rejected | cancelled | timeout | unsupported | failed; null while unanswered. */
    outcome: text('outcome'),
    statusCode: integer('status_code'),
    /** JSON array of the text or choices the user gave. */
    answer: text('answer'),
  },
  (t) => [index('user_prompts_subject').on(t.subjectId, t.attempt)],
);
