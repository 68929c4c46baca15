// The activity timeline on campaign and device pages: the audit log's newest events, each
// with when, what, who and the details that explain it (a reason first when there is one).
import type { ActivityEntry } from '../tokens/activity.ts';
import { when } from './format.ts';

/** Events shown per page: enough for a campaign's story, bounded for a chatty device. */
export const TIMELINE_LIMIT = 100;

/** Details as short "key: value" text; long values are cut so one event stays one line. */
function detailText(details: Record<string, unknown>): string {
  return Object.entries(details)
    .filter(([key, value]) => key !== 'reason' && value !== null && value !== undefined)
    .map(([key, value]) => {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      return `${key}: ${text.length > 120 ? `${text.slice(0, 117)}…` : text}`;
    })
    .join('; ');
}

export function ActivityTimeline(props: { entries: ActivityEntry[]; limit: number; subjectLabel?: (subject: string) => string | undefined }) {
  return (
    <section class="card" data-testid="activity">
      <h2>Activity</h2>
      {props.entries.length === 0 ? <p class="muted">Nothing recorded yet.</p> : null}
      {props.entries.length >= props.limit ? <p class="muted">{`The ${props.limit} most recent events.`}</p> : null}
      <ol class="history">
        {props.entries.map((e) => {
          const reason = typeof e.details.reason === 'string' ? e.details.reason : undefined;
          const about = props.subjectLabel?.(e.subject);
          const rest = detailText(e.details);
          return (
            <li data-testid="activity-entry">
              <span class="muted">{when(e.at)}</span> <strong data-testid="activity-action">{e.action}</strong> <span data-testid="activity-who">{`by ${e.who}`}</span>
              {about ? <span class="muted">{` (${about})`}</span> : null}
              {reason ? <span class="reason-inline">{` — ${reason}`}</span> : null}
              {rest ? <div class="muted">{rest}</div> : null}
            </li>
          );
        })}
      </ol>
    </section>
  );
}
