// Pieces several console pages share: state badges, the progress bar of a stage or a
// campaign, counts by state, failures by FUMO result code.
import type { StageCounts } from '../campaigns/policy.ts';
import { resultText } from './format.ts';

export function Badge(props: { state: string; label?: string; testid?: string }) {
  return (
    <span class={`badge s-${props.state}`} data-testid={props.testid}>
      {props.label ?? props.state}
    </span>
  );
}

/** The bar's segments, left to right: what is done, what went wrong, what moves, what waits. */
const SEGMENTS = [
  { key: 'succeeded', label: 'succeeded', of: (c: StageCounts) => c.succeeded },
  { key: 'failed', label: 'failed', of: (c: StageCounts) => c.failed },
  { key: 'inflight', label: 'in flight', of: (c: StageCounts) => c.commanded + c.downloading + c.installing },
  // Chosen but not yet commanded: with the maintenance window closed nothing moves here.
  { key: 'scheduled', label: 'scheduled (not yet commanded)', of: (c: StageCounts) => c.scheduled },
  { key: 'pending', label: 'pending', of: (c: StageCounts) => c.pending },
  { key: 'canceled', label: 'canceled', of: (c: StageCounts) => c.canceled },
] as const;

/**
 * An SVG bar rather than styled divs: widths as SVG attributes need no inline style, so
 * the CSP can forbid inline styles outright.
 */
export function ProgressBar(props: { counts: StageCounts; testid?: string; mini?: boolean }) {
  const parts = SEGMENTS.map((s) => ({ ...s, n: s.of(props.counts) }));
  const total = parts.reduce((sum, p) => sum + p.n, 0);
  const label = total === 0 ? 'no devices' : parts.filter((p) => p.n > 0).map((p) => `${p.n} ${p.label}`).join(', ');
  let x = 0;
  return (
    <svg class={props.mini ? 'bar mini' : 'bar'} viewBox="0 0 1000 10" preserveAspectRatio="none" role="img" aria-label={label} data-testid={props.testid}>
      <title>{label}</title>
      {parts.map((p) => {
        if (total === 0 || p.n === 0) return null;
        const width = (p.n / total) * 1000;
        const rect = <rect class={`c-${p.key}`} x={x.toFixed(2)} y="0" width={width.toFixed(2)} height="10" data-segment={p.key} data-count={String(p.n)} />;
        x += width;
        return rect;
      })}
    </svg>
  );
}

/** Counts by state, in the order a deployment moves through them, with the bar's colours. */
const STATES: Array<{ state: keyof StageCounts; dot: string }> = [
  { state: 'succeeded', dot: 'succeeded' },
  { state: 'failed', dot: 'failed' },
  { state: 'scheduled', dot: 'scheduled' },
  { state: 'commanded', dot: 'inflight' },
  { state: 'downloading', dot: 'inflight' },
  { state: 'installing', dot: 'inflight' },
  { state: 'pending', dot: 'pending' },
  { state: 'canceled', dot: 'canceled' },
];

/** `prefix` names the list (`<prefix>-counts`) and each number (`<prefix>-<state>`) for tests and scripts. */
/** With `href`, each number links to the devices behind it. */
export function Counts(props: { counts: StageCounts; prefix: string; href?: (state: keyof StageCounts) => string }) {
  return (
    <dl class="counts" data-testid={`${props.prefix}-counts`}>
      {STATES.map(({ state, dot }) => (
        <div>
          <dt>
            <span class={`dot d-${dot}`} aria-hidden="true" />
            {state}
          </dt>
          <dd data-testid={`${props.prefix}-${state}`}>
            {props.href && props.counts[state] > 0 ? <a href={props.href(state)}>{String(props.counts[state])}</a> : String(props.counts[state])}
          </dd>
        </div>
      ))}
    </dl>
  );
}

/** With `href`, each code and count links to the failed devices behind it. */
export function Failures(props: { failures: Record<string, number>; testid: string; href?: (code: string) => string }) {
  const rows = Object.entries(props.failures).sort((a, b) => b[1] - a[1]);
  if (rows.length === 0) return null;
  return (
    <div class="scroll">
      <table data-testid={props.testid}>
        <caption class="muted">Failures by result code</caption>
        <thead>
          <tr>
            <th>code</th>
            <th>meaning</th>
            <th class="n">devices</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([code, n]) => (
            <tr>
              <td class="id">{props.href ? <a href={props.href(code)}>{code}</a> : code}</td>
              <td>{resultText(code)}</td>
              <td class="n">{props.href ? <a href={props.href(code)} data-testid={`${props.testid}-${code}`}>{String(n)}</a> : String(n)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * "first page" (only when not on it) and "next page →" (only when there is one), as every
 * paged console list shows them; the hrefs are built by the page, which knows its filter.
 */
export function Pager(props: { firstHref?: string | undefined; nextHref?: string | undefined; nextTestid: string }) {
  return (
    <p class="pager">
      {props.firstHref ? <a href={props.firstHref}>first page</a> : null}
      {props.nextHref ? (
        <a href={props.nextHref} data-testid={props.nextTestid}>
          next page →
        </a>
      ) : null}
    </p>
  );
}
