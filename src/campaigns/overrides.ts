// Operator overrides of a stage's thresholds, told with who, why and the figures at the
// time. They are what a resume after an automatic pause records in its audit event (the
// state change and its record commit together), so the audit log is their one home and
// the view reads them back from it.
import { z } from 'zod';
import { auditOf } from '../store/queries/audit.ts';
import type { Tx } from '../store/store.ts';
import type { StageOverride } from './schemas.ts';

export const RESUME_ACTION = 'campaign.resume';

/** What a resume records per stage it overrode (in the audit event's details). */
export const recordedOverrideSchema = z.object({
  stage: z.number().int().min(0),
  kind: z.enum(['accepted-failures', 'moved-on']),
  succeeded: z.number(),
  failed: z.number(),
  total: z.number(),
});
export type RecordedOverride = z.infer<typeof recordedOverrideSchema>;

const resumeDetailsSchema = z.object({
  by: z.string(),
  reason: z.string().nullable().optional(),
  overrides: z.array(recordedOverrideSchema).optional(),
});

/** A campaign's overrides by stage index, oldest first. */
export async function overridesOf(tx: Tx, campaignId: string): Promise<Map<number, StageOverride[]>> {
  const byStage = new Map<number, StageOverride[]>();
  const resumes = (await auditOf(tx, campaignId)).filter((e) => e.action === RESUME_ACTION).reverse();
  for (const event of resumes) {
    const details = resumeDetailsSchema.safeParse(parseJson(event.details));
    // Resumes recorded before overrides were (or without any) have nothing to show.
    if (!details.success) continue;
    for (const o of details.data.overrides ?? []) {
      const list = byStage.get(o.stage) ?? [];
      list.push({ kind: o.kind, by: details.data.by, reason: details.data.reason ?? null, at: new Date(event.at).toISOString(), succeeded: o.succeeded, failed: o.failed, total: o.total });
      byStage.set(o.stage, list);
    }
  }
  return byStage;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
