// The `confirm` option of a campaign, a one-device deployment, a SCOMO operation or
// baseline, a profile application, a helpdesk query or fix: what the device's user is
// asked before the work goes out, how long the device waits, and what silence means.
// Stored with the work item when it is created (keyed by its id); the callers of
// devices/user-gate.ts apply it.
import { z } from 'zod';
import { type UiPrompt, UI_LIMITS } from '../omadm/user-interaction.ts';
import { type ConfirmationPolicyRow, insertConfirmationPolicy } from '../store/queries/user-prompts.ts';
import type { Tx } from '../store/store.ts';

export const confirmSchema = z
  .object({
    text: z.string().trim().min(1).max(UI_LIMITS.text).describe('what the device shows its user (Alert 1101: confirm or reject)'),
    maxSeconds: z.number().int().min(1).max(UI_LIMITS.seconds).describe('how long the device waits for its user (MAXDT)'),
    minSeconds: z.number().int().min(0).max(UI_LIMITS.seconds).optional().describe('shortest time the text is shown (MINDT)'),
    defaultResponse: z.enum(['accept', 'reject']).optional().describe('what silence past maxSeconds means (DR); left out: a timeout, asked again at the next session'),
    eachStep: z.boolean().optional().describe('ask again before each step (two-step updates: before the download and before the install; each retry); default: once per deployment'),
  })
  .strict()
  .refine((c) => c.minSeconds === undefined || c.minSeconds <= c.maxSeconds, { message: 'minSeconds must not exceed maxSeconds', path: ['minSeconds'] });
export type Confirm = z.infer<typeof confirmSchema>;

/** Records that a campaign or deployment asks the user first (in its creation's transaction). */
export async function saveConfirmation(tx: Tx, subjectId: string, confirm: Confirm, now: number): Promise<void> {
  await insertConfirmationPolicy(tx, { subjectId, text: confirm.text, minSeconds: confirm.minSeconds ?? null, maxSeconds: confirm.maxSeconds, defaultResponse: confirm.defaultResponse ?? null, eachStep: confirm.eachStep ?? false, createdAt: now });
}

type PolicyFields = Pick<ConfirmationPolicyRow, 'text' | 'minSeconds' | 'maxSeconds' | 'defaultResponse' | 'eachStep'>;

/** A `confirm` option as the stored policy reads (a baseline keeps its own in its spec). */
export function policyOfConfirm(confirm: Confirm): PolicyFields {
  return { text: confirm.text, minSeconds: confirm.minSeconds ?? null, maxSeconds: confirm.maxSeconds, defaultResponse: confirm.defaultResponse ?? null, eachStep: confirm.eachStep ?? false };
}

export function confirmPrompt(policy: PolicyFields): UiPrompt {
  return {
    kind: 'confirm',
    text: policy.text,
    options: {
      ...(policy.minSeconds === null ? {} : { minSeconds: policy.minSeconds }),
      maxSeconds: policy.maxSeconds,
      ...(policy.defaultResponse === null ? {} : { defaultResponse: policy.defaultResponse === 'accept' ? '1' : '0' }),
    },
  };
}


/** What the gate needs of a policy: the prompt, and whether one acceptance covers every attempt. */
export function gateOfPolicy(policy: PolicyFields): { prompt: UiPrompt; once: boolean } {
  return { prompt: confirmPrompt(policy), once: !policy.eachStep };
}
