// Campaign pages: the overview (campaigns newest first, recent builds) and one campaign
// with a bar per stage, counts by state, failures by result code, the pause reason, and
// the operator's buttons for what the campaign's state allows.
import type { Child } from 'hono/jsx';
import type { CampaignSummary, CampaignView, StageView } from '../campaigns/schemas.ts';
import type { BuildView } from '../builds/schemas.ts';
import { Badge, Counts, Failures, ProgressBar } from './components.tsx';
import { approvalWaitWords, campaignBadge, overrideWords, pauseReasonWords, stageBadge, windowWaitWords } from '../campaigns/labels.ts';
import { deviceListHref } from '../campaigns/device-filter.ts';
import { percent } from '../format.ts';
import { bytes, when } from './format.ts';

const campaignHref = (id: string) => `/campaigns/${encodeURIComponent(id)}`;
const buildHref = (id: string) => `/builds/${encodeURIComponent(id)}`;
/** The failed devices of a stage with one result code ('timeout': failed without one). */
const failedHref = (campaign: string, stage: number, code: string) => deviceListHref({ campaign, stage, state: 'failed', result: code });

export function OverviewContent(props: { campaigns: CampaignSummary[]; builds: BuildView[] }) {
  return (
    <>
      <h1>Campaigns</h1>
      <p class="actions">
        <a class="button" href="/campaigns/new" data-testid="new-campaign-link">
          New campaign
        </a>
      </p>
      <section class="card" data-testid="campaigns">
        {props.campaigns.length === 0 ? (
          <p class="muted">No campaigns yet. Create one here (New campaign), with <code>fota campaign create</code>, or POST /api/v1/campaigns.</p>
        ) : (
          <div class="scroll">
            <table class="stack">
              <thead>
                <tr>
                  <th>campaign</th>
                  <th>state</th>
                  <th>target</th>
                  <th>progress</th>
                  <th class="n">succeeded</th>
                  <th class="n">failed</th>
                  <th class="n wide">devices</th>
                  <th class="wide">created</th>
                </tr>
              </thead>
              <tbody>
                {props.campaigns.map((c) => (
                  <tr data-testid={`campaign-row-${c.id}`}>
                    <td>
                      <a href={campaignHref(c.id)}>{c.name}</a>
                      <div class="id muted">{c.id}</div>
                      {c.pausedReason ? <div class="muted">{pauseReasonWords(c, when)}</div> : null}
                    </td>
                    <td data-label="state">
                      <CampaignBadge summary={c} />
                    </td>
                    <td data-label="target">
                      {/* One child: on a phone the cell is a flex row of label and value. */}
                      <span>
                        {c.model} {c.kind === 'configuration' ? 'configuration ' : ''}<span class="id">{c.targetVersion}</span>
                      </span>
                    </td>
                    <td data-label="progress">
                      <ProgressBar counts={c.totals} mini />
                    </td>
                    <td class="n" data-label="succeeded">
                      <a href={deviceListHref({ campaign: c.id, state: 'succeeded' })}>{String(c.totals.succeeded)}</a>
                    </td>
                    <td class="n" data-label="failed">
                      <a href={deviceListHref({ campaign: c.id, state: 'failed' })}>{String(c.totals.failed)}</a>
                    </td>
                    <td class="n wide" data-label="devices">
                      <a href={deviceListHref({ campaign: c.id })}>{String(c.cohortSize)}</a>
                    </td>
                    <td class="wide" data-label="created">{when(c.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section class="card" data-testid="recent-builds">
        <h2>Recent builds</h2>
        {props.builds.length === 0 ? (
          <p class="muted">No builds yet.</p>
        ) : (
          <ul>
            {props.builds.map((b) => (
              <li>
                <a href={buildHref(b.id)}>
                  {b.model} {b.version}
                </a>{' '}
                <Badge state={b.status} /> <span class="muted">{`${bytes(b.size)}, ${b.packages.length} package${b.packages.length === 1 ? '' : 's'}`}</span>
              </li>
            ))}
          </ul>
        )}
        <p>
          <a href="/builds">All builds</a>
        </p>
      </section>
    </>
  );
}

function CampaignBadge(props: { summary: CampaignSummary }) {
  const label = campaignBadge(props.summary);
  return <Badge state={label.tone} label={label.words} testid={`campaign-state-${props.summary.id}`} />;
}

type Action = 'start' | 'approve' | 'pause' | 'resume' | 'abort';

/**
 * The buttons a campaign's state allows the viewer; the domain functions still check (409
 * when stale). Approve is left out for a viewer four eyes would refuse (the creator).
 */
function actionsFor(view: CampaignView, mayApprove: boolean): Action[] {
  const stage = view.stages[view.currentStage];
  switch (view.state) {
    case 'draft':
      return ['start', 'abort'];
    case 'running':
      return stage?.state === 'awaitingApproval' && mayApprove ? ['approve', 'pause', 'abort'] : ['pause', 'abort'];
    case 'paused':
      return ['resume', 'abort'];
    default:
      return [];
  }
}

function ActionForm(props: { id: string; action: Action; stage: number }) {
  const url = `${campaignHref(props.id)}/${props.action}`;
  const testid = `action-${props.action}`;
  switch (props.action) {
    case 'start':
      return (
        <form method="post" action={url}>
          <button class="primary" type="submit" data-testid={testid}>
            Start campaign
          </button>
        </form>
      );
    case 'approve':
      return (
        <form method="post" action={url}>
          <button class="primary" type="submit" data-testid={testid}>
            Approve stage {String(props.stage + 1)}
          </button>
        </form>
      );
    case 'abort':
      return (
        <form method="post" action={url} data-confirm="Abort this campaign? Devices not yet commanded are canceled; this cannot be undone.">
          <label>
            reason (optional)
            <input name="reason" maxlength={500} data-testid="reason-abort" />
          </label>
          <button class="danger" type="submit" data-testid={testid}>
            Abort
          </button>
        </form>
      );
    default:
      return (
        <form method="post" action={url}>
          <label>
            reason (optional)
            <input name="reason" maxlength={500} data-testid={`reason-${props.action}`} />
          </label>
          <button type="submit" data-testid={testid}>
            {props.action === 'pause' ? 'Pause' : 'Resume'}
          </button>
        </form>
      );
  }
}

function Stage(props: { stage: StageView; current: boolean; campaign: Pick<CampaignView, 'id' | 'state' | 'currentStage' | 'windowNow'> }) {
  const s = props.stage;
  const n = s.index + 1;
  const badge = stageBadge(props.campaign, s);
  const movedOn = s.overrides.some((o) => o.kind === 'moved-on');
  return (
    <section class="stage" data-testid={`stage-${n}`} aria-labelledby={`stage-${n}-title`}>
      <div class="stage-head">
        <h3 id={`stage-${n}-title`}>Stage {String(n)}</h3>
        <span class="muted">
          {`${s.percent}% of the cohort (cumulative), ${s.size} device${s.size === 1 ? '' : 's'}${s.requiresApproval ? ', needs approval' : ''}`}
        </span>
        <Badge state={badge.tone} label={badge.words} testid={`stage-${n}-state`} />
        {props.current ? <span class="muted">current</span> : null}
      </div>
      <ProgressBar counts={s.counts} testid={`stage-${n}-bar`} />
      <Counts counts={s.counts} prefix={`stage-${n}`} href={(state) => deviceListHref({ campaign: props.campaign.id, stage: n, state })} />
      <Failures failures={s.failures} testid={`stage-${n}-failures`} href={(code) => failedHref(props.campaign.id, n, code)} />
      <p class="muted">
        {s.startedAt ? `started ${when(s.startedAt)}` : 'not started'}
        {s.thresholdMetAt ? (movedOn ? `; moved on by an operator's override ${when(s.thresholdMetAt)}` : `; success threshold met ${when(s.thresholdMetAt)}`) : ''}
        {s.approvedBy ? `; approved by ${s.approvedBy} ${when(s.approvedAt)}` : ''}
      </p>
      {s.overrides.length > 0 ? (
        <ul class="overrides" data-testid={`stage-${n}-overrides`}>
          {s.overrides.map((o) => (
            <li>{overrideWords(o, when)}</li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

export function CampaignContent(props: { view: CampaignView; canAct: boolean; mayApprove: boolean; viewerName: string; timeline?: Child }) {
  const v = props.view;
  const actions = actionsFor(v, props.mayApprove);
  const awaiting = v.stages[v.currentStage]?.state === 'awaitingApproval' && v.state === 'running';
  const windowWait = v.state === 'running' && v.stages[v.currentStage]?.state === 'running' ? windowWaitWords(v) : null;
  return (
    <>
      <p>
        <a href="/">← Campaigns</a>
      </p>
      <h1 data-testid="campaign-name">{v.name}</h1>
      <section class="card">
        <div class="stage-head">
          <Badge state={v.state} testid="campaign-state" />
          <span class="id muted">{v.id}</span>
        </div>
        {v.pausedReason ? (
          <p class="reason" data-testid="pause-reason">
            {pauseReasonWords(v, when)}
          </p>
        ) : null}
        {windowWait ? (
          <p class="reason" data-testid="window-closed">
            {`Stage ${v.currentStage + 1} is ${windowWait}: the maintenance window is closed, so no device is commanded until then${v.windowNow?.opensAt ? ` (${when(v.windowNow.opensAt)})` : ''}.`}
          </p>
        ) : null}
        {awaiting ? (
          <p class="reason" data-testid="awaiting-approval">
            {`Stage ${v.currentStage + 1} is ${approvalWaitWords(v)}.`}
            {props.canAct && !props.mayApprove ? ` You (${props.viewerName}) created this campaign, so you cannot approve it.` : ''}
          </p>
        ) : null}
        {props.canAct ? (
          actions.length > 0 ? (
            <div class="actions" data-testid="actions">
              {actions.map((a) => (
                <ActionForm id={v.id} action={a} stage={v.currentStage} />
              ))}
            </div>
          ) : null
        ) : (
          <p class="muted" data-testid="read-only">
            Read-only: {props.viewerName} is not an operator.
          </p>
        )}
        <dl class="facts">
          <div>
            <dt>target</dt>
            <dd data-testid="campaign-target">
              {v.buildId === null ? (
                <span>{v.kind === 'application' ? `${v.model} ${v.targetVersion}` : `${v.model} configuration profile ${v.targetVersion}`}</span>
              ) : (
                <a href={buildHref(v.buildId)}>
                  {v.model} {v.targetVersion}
                </a>
              )}
            </dd>
          </div>
          <div>
            <dt>devices</dt>
            <dd data-testid="cohort-size">
              <a href={deviceListHref({ campaign: v.id })}>{String(v.cohortSize)}</a>
              {` (${v.alreadyCurrent} already current, ${v.busy} busy elsewhere)`}
              {v.securityHeld > 0 ? <p data-testid="security-held">{v.securityHeldReason ?? `${v.securityHeld} left out for their security version`}</p> : null}
            </dd>
          </div>
          <div>
            <dt>thresholds</dt>
            <dd>{`success ${percent(v.successThreshold)}, pause above ${percent(v.failureThreshold)} failed (from ${v.minSample} results)`}</dd>
          </div>
          <div>
            <dt>soak, timeout</dt>
            <dd>{`${v.soakSeconds} s, ${v.timeoutMinutes} min`}</dd>
          </div>
          <div>
            <dt>created</dt>
            <dd>{`${when(v.createdAt)} by ${v.createdBy}${v.fourEyes ? ' (four eyes)' : ''}`}</dd>
          </div>
          <div>
            <dt>started, finished</dt>
            <dd>{`${when(v.startedAt)}, ${when(v.finishedAt)}`}</dd>
          </div>
          <div>
            <dt>bytes served</dt>
            <dd>{bytes(v.bytesServed)}</dd>
          </div>
          <DeliveryFacts v={v} />
        </dl>
      </section>
      <section class="card" data-testid="totals">
        <h2>All stages</h2>
        <ProgressBar counts={v.totals} testid="total-bar" />
        <Counts counts={v.totals} prefix="total" href={(state) => deviceListHref({ campaign: v.id, state })} />
      </section>
      <section class="card" data-testid="stages">
        <h2>Stages</h2>
        {v.stages.map((s) => (
          <Stage stage={s} campaign={v} current={s.index === v.currentStage && (v.state === 'running' || v.state === 'paused')} />
        ))}
      </section>
      {props.timeline}
    </>
  );
}

/** How the campaign delivers, shown only where it differs from starting now, installing in the window, with no budget. */
function DeliveryFacts(props: { v: CampaignView }) {
  const { v } = props;
  return (
    <>
      {v.scheduledFor ? (
        <div>
          <dt>scheduled start</dt>
          <dd data-testid="campaign-scheduled">{`${when(v.scheduledFor)} (the server starts it then; abort calls it off)`}</dd>
        </div>
      ) : null}
      {v.mode !== 'install' ? (
        <div>
          <dt>mode</dt>
          <dd data-testid="campaign-mode">{v.mode === 'twoStep' ? 'two-step: download at once, install when the window opens' : 'download only: devices download and wait until an operator lets them install'}</dd>
        </div>
      ) : null}
      {v.bandwidthBytesPerSecond !== null ? (
        <div>
          <dt>bandwidth budget</dt>
          <dd data-testid="campaign-bandwidth">{`${bytes(v.bandwidthBytesPerSecond)}/s for the whole campaign`}</dd>
        </div>
      ) : null}
      {v.forcedReason ? (
        <div>
          <dt>forced</dt>
          <dd data-testid="campaign-forced">{`devices commanded at any time: ${v.forcedReason}`}</dd>
        </div>
      ) : null}
    </>
  );
}
