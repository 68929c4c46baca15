// Follows one of the demo's campaigns (firmware or configuration) until every deployment
// has a result. A small stage can hold more faulty devices than its thresholds allow, and
// the campaign then pauses itself; the demo's operator does what a real one would: looks
// at the failures and, when they are all ones the demo injected, resumes.
import { setTimeout as sleep } from 'node:timers/promises';
import { stageLabel } from '../campaigns/labels.ts';
import { type CampaignView, campaignViewSchema } from '../campaigns/schemas.ts';
import { callServer, type Client } from './client.ts';

export interface Followed {
  view: CampaignView;
  resumes: number;
}

/** Polls the campaign until it leaves `running` (or `deadlineMs` passes), resuming pauses caused by injected faults only. */
export async function followCampaign(operator: Client, id: string, injected: Readonly<Record<string, number>>, deadlineMs: number, say: (line: string) => void, name = 'campaign'): Promise<Followed> {
  const deadline = performance.now() + deadlineMs;
  let last = '';
  let resumes = 0;
  for (;;) {
    let view = await callServer(operator, 'GET', `/api/v1/campaigns/${id}`, campaignViewSchema);
    const line = progressLine(view, name);
    if (line !== last) say(line);
    last = line;
    if (view.state === 'paused' && onlyInjected(view, injected) && resumes < view.stages.length * 2) {
      resumes += 1;
      say(`paused: ${view.pausedReason}; every failure is an injected fault, so Olivia (operator) resumes`);
      view = await callServer(operator, 'POST', `/api/v1/campaigns/${id}/resume`, campaignViewSchema, { json: { reason: 'the failures are the faults the demo injected' } });
      continue;
    }
    // A campaign completes once its last stage has every result; paused or aborted ends the run too.
    if (view.state !== 'running') return { view, resumes };
    if (performance.now() > deadline) {
      say(`giving up after ${deadlineMs / 60_000} minutes`);
      return { view, resumes };
    }
    await sleep(1000);
  }
}

/** Failures of every stage added up, by result code. */
export function failuresOf(view: CampaignView): Record<string, number> {
  const seen: Record<string, number> = {};
  for (const stage of view.stages) for (const [code, n] of Object.entries(stage.failures)) seen[code] = (seen[code] ?? 0) + n;
  return seen;
}

/** Every failure so far has a code the injected faults produce, and no more of each than injected. */
function onlyInjected(view: CampaignView, injected: Readonly<Record<string, number>>): boolean {
  return Object.entries(failuresOf(view)).every(([code, n]) => n <= (injected[code] ?? 0));
}

function progressLine(view: CampaignView, name: string): string {
  const stages = view.stages.map((s) => `${s.percent}%: ${stageLabel(view, s)} ${s.counts.succeeded}ok/${s.counts.failed}failed of ${s.size}`);
  return `${name} ${view.state}${view.pausedReason ? ` (${view.pausedReason})` : ''} | ${stages.join(' | ')}`;
}
