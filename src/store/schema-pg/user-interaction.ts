// PostgreSQL twin of ../schema/user-interaction.ts (test/store/schemas.test.ts).
import { bigint, boolean, index, pgTable, text } from 'drizzle-orm/pg-core';

export const confirmationPolicies = pgTable('confirmation_policies', {
  subjectId: text('subject_id').primaryKey(),
  text: text('text').notNull(),
  minSeconds: bigint('min_seconds', { mode: 'number' }),
  maxSeconds: bigint('max_seconds', { mode: 'number' }).notNull(),
  defaultResponse: text('default_response', { enum: ['accept', 'reject'] }),
  eachStep: boolean('each_step').notNull().default(false),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
});

export const userPrompts = pgTable(
  'user_prompts',
  {
    id: text('id').primaryKey(),
    deviceId: text('device_id').notNull(),
    subjectId: text('subject_id').notNull(),
    attempt: bigint('attempt', { mode: 'number' }).notNull(),
    code: text('code').notNull(),
    text: text('text').notNull(),
    askedAt: bigint('asked_at', { mode: 'number' }).notNull(),
    answeredAt: bigint('answered_at', { mode: 'number' }),
    outcome: text('outcome'),
    statusCode: bigint('status_code', { mode: 'number' }),
    answer: text('answer'),
  },
  (t) => [index('user_prompts_subject').on(t.subjectId, t.attempt)],
);
