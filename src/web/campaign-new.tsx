// Creating a campaign from the console: a form with the cohort (build, firmware versions,
// tags, device ids) and a live count of the devices it matches, the stages, thresholds,
// soak, timeout, four eyes, the maintenance window, a scheduled start, the mode, a
// bandwidth budget and a forced reason. The form's strings become the API's
// request object and go through the same zod schema and the same createCampaign, so the
// console refuses exactly what the API refuses, with the same words.
import type { BuildView } from '../builds/schemas.ts';
import { type CreateCampaign, createCampaignSchema } from '../campaigns/schemas.ts';
import { WEEKDAYS } from '../schedule/window.ts';

export type FormValues = Record<string, string | string[]>;

export const STAGE_ROWS = 5;

const str = (v: FormValues, key: string): string => {
  const value = v[key];
  return (Array.isArray(value) ? (value[0] ?? '') : (value ?? '')).trim();
};
const all = (v: FormValues, key: string): string[] => {
  const value = v[key];
  return Array.isArray(value) ? value : value ? [value] : [];
};
/** A comma-, space- or newline-separated list; undefined when empty (the filter is off). */
const list = (s: string): string[] | undefined => {
  const items = s.split(/[\s,]+/).filter(Boolean);
  return items.length ? items : undefined;
};
/** A number field: absent when empty, NaN (refused by the schema with its message) when not a number. */
const num = (s: string): number | undefined => (s === '' ? undefined : Number(s));
const share = (s: string): number | undefined => {
  const n = num(s);
  return n === undefined ? undefined : n / 100;
};

/** The request the form describes, validated by the API's schema; errors name the field. */
export function campaignRequest(v: FormValues): { ok: true; request: CreateCampaign } | { ok: false; error: string } {
  const stages = [];
  for (let i = 1; i <= STAGE_ROWS; i++) {
    const percent = str(v, `s${i}`);
    if (percent !== '') stages.push({ percent: Number(percent), requiresApproval: str(v, `a${i}`) === 'on' });
  }
  const cohort = {
    ...(list(str(v, 'versions')) ? { versions: list(str(v, 'versions')) } : {}),
    ...(list(str(v, 'tags')) ? { tags: list(str(v, 'tags')) } : {}),
    ...(list(str(v, 'deviceIds')) ? { deviceIds: list(str(v, 'deviceIds')) } : {}),
  };
  const days = all(v, 'days');
  const windowGiven = str(v, 'tz') !== '' || str(v, 'wstart') !== '' || str(v, 'wend') !== '' || days.length > 0;
  const fourEyes = str(v, 'fourEyes');
  const input = {
    name: str(v, 'name'),
    buildId: str(v, 'buildId'),
    cohort,
    stages,
    successThreshold: share(str(v, 'success')),
    failureThreshold: share(str(v, 'failure')),
    minSample: num(str(v, 'minSample')),
    soakSeconds: num(str(v, 'soak')),
    timeoutMinutes: num(str(v, 'timeout')),
    ...(fourEyes === 'yes' || fourEyes === 'no' ? { fourEyes: fourEyes === 'yes' } : {}),
    dynamic: str(v, 'dynamic') === 'on',
    ...(windowGiven ? { maintenanceWindow: { timeZone: str(v, 'tz'), days, start: str(v, 'wstart'), end: str(v, 'wend') } } : {}),
    ...deliveryFields(v),
  };
  const parsed = createCampaignSchema.safeParse(Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined)));
  if (parsed.success) return { ok: true, request: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? `${FIELD_NAMES[String(issue.path[0])] ?? String(issue.path[0])}${issue.path.length > 1 ? ` (${issue.path.slice(1).join(' ')})` : ''}: ` : '';
  return { ok: false, error: `${where}${issue?.message ?? 'invalid campaign'}` };
}

/** Schedule and delivery: start time, mode, bandwidth budget and a forced reason, each only when given. */
function deliveryFields(v: FormValues): Record<string, unknown> {
  const mode = str(v, 'mode');
  const forced = str(v, 'forcedReason');
  return {
    ...(str(v, 'startAt') !== '' ? { startAt: str(v, 'startAt') } : {}),
    ...(mode !== '' ? { mode } : {}),
    ...(str(v, 'bandwidth') !== '' ? { bandwidthBytesPerSecond: Number(str(v, 'bandwidth')) } : {}),
    ...(forced !== '' ? { forced: { reason: forced } } : {}),
  };
}

/** What the schema's paths are called on the form. */
const FIELD_NAMES: Record<string, string> = {
  name: 'name',
  buildId: 'build',
  cohort: 'cohort',
  stages: 'stages',
  successThreshold: 'success threshold',
  failureThreshold: 'failure threshold',
  minSample: 'results before judging',
  soakSeconds: 'soak',
  timeoutMinutes: 'timeout',
  maintenanceWindow: 'maintenance window',
  startAt: 'start at',
  mode: 'mode',
  bandwidthBytesPerSecond: 'bandwidth budget',
  forced: 'forced',
};

/**
 * The cohort preview: on every change of the build or the cohort fields (debounced), asks
 * /campaigns/preview how many devices match and shows it. Text only (textContent), so
 * nothing the server echoes can become markup.
 */
export const PREVIEW_SCRIPT = `
(function () {
  var form = document.getElementById('new-campaign');
  var out = document.getElementById('cohort-preview');
  if (!form || !out) return;
  var timer = null, seq = 0;
  function field(name) { var el = form.elements.namedItem(name); return el && 'value' in el ? el.value.trim() : ''; }
  function items(name) { return field(name).split(/[\\s,]+/).filter(Boolean).join(','); }
  function update() {
    var q = new URLSearchParams();
    if (field('buildId')) q.set('buildId', field('buildId'));
    ['versions', 'tags', 'deviceIds'].forEach(function (n) { var v = items(n); if (v) q.set(n, v); });
    var url = '/campaigns/preview?' + q.toString();
    if (url.length > 15000) { out.textContent = 'Too many device ids to count here: they are checked when you create the campaign.'; return; }
    var mine = ++seq;
    out.textContent = 'counting…';
    fetch(url, { credentials: 'same-origin', cache: 'no-store' }).then(function (res) {
      return res.json().then(function (body) {
        if (mine !== seq) return;
        if (!res.ok) { out.textContent = (body && body.error && body.error.message) || ('preview failed (' + res.status + ')'); out.dataset.devices = ''; return; }
        var versions = Object.keys(body.byVersion).sort().map(function (v) { return (v || 'unknown') + ': ' + body.byVersion[v]; }).join(', ');
        var text = body.devices + ' device' + (body.devices === 1 ? '' : 's') + ' match';
        if (body.alreadyCurrent !== undefined) text += ' (' + body.alreadyCurrent + ' already run the target)';
        if (body.securityHeld) text += '; ' + body.securityHeld + ' run a higher security version and will be left out';
        if (versions) text += '. By firmware: ' + versions + '.';
        if (body.inOtherCampaigns.length) text += ' ' + body.inOtherCampaigns.map(function (c) { return c.devices + ' in running campaign ' + c.campaignId; }).join(', ') + ': starting would be refused.';
        out.textContent = text;
        out.dataset.devices = String(body.devices);
      });
    }).catch(function () { if (mine === seq) out.textContent = 'preview failed: offline?'; });
  }
  form.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(update, 300); });
  update();
})();
`;

function Field(props: { name: string; label: string; values: FormValues; size?: number; placeholder?: string; type?: string; hint?: string }) {
  return (
    <label>
      {props.label}
      <input name={props.name} value={str(props.values, props.name)} size={props.size ?? 8} placeholder={props.placeholder} type={props.type} autocomplete="off" data-testid={`new-${props.name}`} />
      {props.hint ? <span class="muted"> {props.hint}</span> : null}
    </label>
  );
}

/** Defaults a new form starts with: the API's defaults, as the form writes them. */
export const NEW_CAMPAIGN_DEFAULTS: FormValues = { s1: '10', s2: '100', a2: 'on', success: '95', failure: '5', minSample: '10', soak: '0' };

export function NewCampaignContent(props: { builds: BuildView[]; values: FormValues; fourEyesDefault: boolean }) {
  const v = props.values;
  const ready = props.builds.filter((b) => b.status === 'ready');
  return (
    <>
      <p>
        <a href="/">← Campaigns</a>
      </p>
      <h1>New campaign</h1>
      {ready.length === 0 ? (
        <p class="card">
          No build is ready yet: <a href="/builds">upload one</a> first.
        </p>
      ) : (
        <form method="post" action="/campaigns/new" id="new-campaign" class="card form" data-testid="new-campaign">
          <fieldset>
            <legend>What</legend>
            <Field name="name" label="name" values={v} size={30} />
            <label>
              build
              <select name="buildId" data-testid="new-buildId">
                {ready.map((b) => (
                  <option value={b.id} selected={str(v, 'buildId') === b.id}>{`${b.model} ${b.version} (${b.id})`}</option>
                ))}
              </select>
            </label>
          </fieldset>
          <fieldset>
            <legend>Cohort: devices of the build's model that match every filter given</legend>
            <Field name="versions" label="running firmware (comma-separated)" values={v} size={16} placeholder="any" />
            <Field name="tags" label="with every tag" values={v} size={16} placeholder="any" />
            <label>
              only these device ids
              <textarea name="deviceIds" rows={2} cols={30} placeholder="any" data-testid="new-deviceIds">
                {str(v, 'deviceIds')}
              </textarea>
            </label>
            <p class="reason" id="cohort-preview" role="status" aria-live="polite" data-testid="cohort-preview">
              Counting needs JavaScript; the cohort is counted when the campaign is created.
            </p>
          </fieldset>
          <fieldset>
            <legend>Stages: cumulative percent of the cohort; the last one 100</legend>
            {Array.from({ length: STAGE_ROWS }, (_, i) => i + 1).map((n) => (
              <div class="actions">
                <Field name={`s${n}`} label={`stage ${n} %`} values={v} size={4} />
                <label>
                  <input type="checkbox" name={`a${n}`} checked={str(v, `a${n}`) === 'on'} data-testid={`new-a${n}`} /> waits for approval
                </label>
              </div>
            ))}
          </fieldset>
          <fieldset>
            <legend>Thresholds and timing</legend>
            <Field name="success" label="success threshold %" values={v} size={4} />
            <Field name="failure" label="pause above failed %" values={v} size={4} />
            <Field name="minSample" label="results before judging" values={v} size={5} />
            <Field name="soak" label="soak (seconds)" values={v} size={6} />
            <Field name="timeout" label="timeout (minutes)" values={v} size={6} placeholder="server default" />
            <label>
              four eyes
              <select name="fourEyes" data-testid="new-fourEyes">
                <option value="">{`server default (${props.fourEyesDefault ? 'on' : 'off'})`}</option>
                <option value="yes" selected={str(v, 'fourEyes') === 'yes'}>
                  on: someone else approves
                </option>
                <option value="no" selected={str(v, 'fourEyes') === 'no'}>
                  off
                </option>
              </select>
            </label>
            <label>
              <input type="checkbox" name="dynamic" checked={str(v, 'dynamic') === 'on'} /> devices matching later join
            </label>
          </fieldset>
          <fieldset>
            <legend>Maintenance window (optional): devices are commanded only inside it</legend>
            <Field name="tz" label="time zone" values={v} size={14} placeholder="Europe/Berlin" />
            <Field name="wstart" label="from" values={v} size={5} placeholder="01:00" />
            <Field name="wend" label="to" values={v} size={5} placeholder="05:00" />
            <div class="actions">
              {WEEKDAYS.map((d) => (
                <label>
                  <input type="checkbox" name="days" value={d} checked={all(v, 'days').includes(d)} /> {d}
                </label>
              ))}
            </div>
          </fieldset>
          <fieldset>
            <legend>Schedule and delivery (optional)</legend>
            <Field name="startAt" label="start at" values={v} size={26} placeholder="2026-12-07T22:00:00+01:00" hint="ISO time with its offset: the server starts the draft then" />
            <label>
              mode
              <select name="mode" data-testid="new-mode">
                <option value="install" selected={str(v, 'mode') === '' || str(v, 'mode') === 'install'}>
                  install: download and install in the window
                </option>
                <option value="twoStep" selected={str(v, 'mode') === 'twoStep'}>
                  two-step: download at once, install when the window opens
                </option>
                <option value="downloadOnly" selected={str(v, 'mode') === 'downloadOnly'}>
                  download only: install later, on your word
                </option>
              </select>
            </label>
            <Field name="bandwidth" label="bandwidth budget" values={v} size={10} placeholder="8000000" hint="bytes per second for the whole campaign" />
            <Field name="forcedReason" label="forced, because" values={v} size={30} hint="commands devices at any time, ignoring windows; the reason is audited" />
          </fieldset>
          <p class="muted">The campaign is created as a draft: nothing is sent to a device until you start it on its page, or until its start time.</p>
          <button class="primary" type="submit" data-testid="new-submit">
            Create draft
          </button>
        </form>
      )}
    </>
  );
}
