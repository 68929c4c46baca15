// Confirmation requirements (a campaign's or a deployment's `confirm`) and the prompts sent
// to devices with their users' answers (schema/user-interaction.ts).
import { and, asc, desc, eq, inArray } from 'drizzle-orm';
import type { confirmationPolicies, userPrompts } from '../schema/index.ts';
import type { Tx } from '../store.ts';
import { countWrite } from './write-counts.ts';

export type ConfirmationPolicyRow = typeof confirmationPolicies.$inferSelect;
export type UserPromptRow = typeof userPrompts.$inferSelect;

export async function insertConfirmationPolicy(tx: Tx, row: ConfirmationPolicyRow): Promise<void> {
  await tx.q.insert(tx.t.confirmationPolicies).values(row);
}

/** The policy of the first subject that has one (the deployment's own before its campaign's). */
export async function confirmationPolicyOf(tx: Tx, subjectIds: string[]): Promise<ConfirmationPolicyRow | undefined> {
  if (subjectIds.length === 0) return undefined;
  const { confirmationPolicies: p } = tx.t;
  const rows = await tx.q.select().from(p).where(inArray(p.subjectId, subjectIds));
  for (const id of subjectIds) {
    const found = rows.find((r) => r.subjectId === id);
    if (found) return found;
  }
  return undefined;
}

export async function insertUserPrompt(tx: Tx, row: typeof userPrompts.$inferInsert): Promise<void> {
  await tx.q.insert(tx.t.userPrompts).values(row);
}

/** Prompts about one attempt of a subject, newest first. */
export async function promptsFor(tx: Tx, subjectId: string, attempt: number): Promise<UserPromptRow[]> {
  const { userPrompts: u } = tx.t;
  return tx.q.select().from(u).where(and(eq(u.subjectId, subjectId), eq(u.attempt, attempt))).orderBy(desc(u.askedAt), desc(u.id));
}

/** Every prompt about a subject, oldest first. */
export async function promptsOfSubject(tx: Tx, subjectId: string): Promise<UserPromptRow[]> {
  const { userPrompts: u } = tx.t;
  return tx.q.select().from(u).where(eq(u.subjectId, subjectId)).orderBy(asc(u.askedAt), asc(u.id));
}

export async function findUserPrompt(tx: Tx, id: string): Promise<UserPromptRow | undefined> {
  const { userPrompts: u } = tx.t;
  return (await tx.q.select().from(u).where(eq(u.id, id)))[0];
}

export async function answerUserPrompt(tx: Tx, id: string, changes: Pick<UserPromptRow, 'answeredAt' | 'outcome' | 'statusCode' | 'answer'>): Promise<void> {
  const { userPrompts: u } = tx.t;
  await tx.q.update(u).set(changes).where(eq(u.id, id));
}

/**
 * Operations held behind a user's answer that will not go out now (the user rejected, or
 * never answered): failed with no Status, as never sent. Returns their ids.
 */
export async function endGatedOperations(tx: Tx, gateId: string, now: number): Promise<string[]> {
  const { dmOperations: o } = tx.t;
  countWrite(tx, 'operations');
  const rows = await tx.q.update(o).set({ state: 'failed', doneAt: now }).where(and(eq(o.gateId, gateId), eq(o.state, 'queued'))).returning({ id: o.id });
  return rows.map((r) => r.id);
}

/** The newest prompt about a subject, if any (a work item's view shows its user's answer). */
export async function latestPromptOf(tx: Tx, subjectId: string): Promise<UserPromptRow | undefined> {
  const { userPrompts: u } = tx.t;
  return (await tx.q.select().from(u).where(eq(u.subjectId, subjectId)).orderBy(desc(u.askedAt), desc(u.id)).limit(1))[0];
}
