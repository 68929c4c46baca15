// Baseline pages: every model with its baseline (the default application set); one model's
// baseline with how its devices stand against it (each count links to the devices behind
// it) and, for operators, the form that edits it; and the devices of one class. The form
// has one row per component (component, version, required or forbidden) plus empty rows
// to add; a row set to "—" is dropped. What the form posts is checked by the API's schema.
import type { Baseline } from '../scomo/schemas.ts';
import type { ModelBaseline, ModelBaselineSummary } from '../scomo/catalog.ts';
import { type ClassifiedDevice, COMPLIANCE_CLASSES, type ComplianceClass, type ComplianceCounts } from '../scomo/compliance.ts';
import { Pager } from './components.tsx';
import { when } from './format.ts';

export const baselineHref = (model: string) => `/baselines/${encodeURIComponent(model)}`;
export const classHref = (model: string, cls: ComplianceClass) => `${baselineHref(model)}/devices?class=${cls}`;

/** Empty rows the form offers for new components. */
const BLANK_ROWS = 3;

export const CLASS_LABELS: Record<ComplianceClass, string> = {
  compliant: 'compliant',
  missing: 'missing a baseline app',
  outdated: 'running an outdated version',
  inactive: 'a baseline app inactive',
  forbidden: 'forbidden app present',
  unread: 'inventory not read yet',
};

/** The counts' labels: short enough for the counts grid. */
const COUNT_LABELS: Record<ComplianceClass, string> = { compliant: 'compliant', missing: 'missing', outdated: 'outdated', inactive: 'inactive', forbidden: 'forbidden present', unread: 'not read yet' };

export type BaselineRule = 'required' | 'forbidden' | '';
export interface BaselineRow {
  component: string;
  version: string;
  rule: BaselineRule;
}

export function rowsOf(baseline: Baseline | null): BaselineRow[] {
  if (!baseline) return [];
  return [...baseline.apps.map((a): BaselineRow => ({ component: a.component, version: a.version, rule: 'required' })), ...baseline.forbidden.map((c): BaselineRow => ({ component: c, version: '', rule: 'forbidden' }))];
}

/** The form's rows as the API's baseline body (validated by the caller with baselineSchema). */
export function baselineFromRows(rows: BaselineRow[]): { apps: Array<{ component: string; version: string }>; forbidden: string[] } {
  const kept = rows.filter((r) => r.rule !== '' && r.component !== '');
  return { apps: kept.filter((r) => r.rule === 'required').map((r) => ({ component: r.component, version: r.version })), forbidden: kept.filter((r) => r.rule === 'forbidden').map((r) => r.component) };
}

export function BaselinesContent(props: { models: ModelBaselineSummary[] }) {
  return (
    <>
      <h1>Baselines</h1>
      <p class="muted">Each model's default application set. Devices are reconciled against it in their DM sessions: missing apps installed, outdated ones updated, forbidden ones removed.</p>
      <section class="card">
        {props.models.length === 0 ? (
          <p class="muted">No models yet: a model appears with its first build or application.</p>
        ) : (
          <div class="scroll">
            <table class="stack" data-testid="baselines">
              <thead>
                <tr>
                  <th>model</th>
                  <th>manufacturer</th>
                  <th>baseline</th>
                  <th class="wide">updated</th>
                </tr>
              </thead>
              <tbody>
                {props.models.map((m) => (
                  <tr data-testid="baseline-row" data-model={m.model}>
                    <td>
                      <a href={baselineHref(m.model)}>{m.model}</a>
                    </td>
                    <td data-label="manufacturer">{m.manufacturer}</td>
                    <td data-label="baseline">{m.baseline ? `${m.baseline.apps.length} required, ${m.baseline.forbidden.length} forbidden` : <span class="muted">none</span>}</td>
                    <td class="wide" data-label="updated">{when(m.updatedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}

function ComplianceCard(props: { model: string; counts: ComplianceCounts }) {
  const { counts } = props;
  return (
    <section class="card" data-testid="compliance">
      <h2>Devices against this baseline</h2>
      <p class="muted" data-testid="compliance-total">{`${counts.total} device${counts.total === 1 ? '' : 's'} of ${props.model}, from the inventory each last reported. A device may count under several problems.`}</p>
      <dl class="counts">
        {COMPLIANCE_CLASSES.map((cls) => (
          <div>
            <dt title={CLASS_LABELS[cls]}>{COUNT_LABELS[cls]}</dt>
            <dd data-testid={`compliance-${cls}`}>{counts[cls] > 0 ? <a href={classHref(props.model, cls)}>{String(counts[cls])}</a> : '0'}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

function BaselineTable(props: { baseline: Baseline }) {
  const rows = rowsOf(props.baseline);
  if (rows.length === 0) return <p class="muted">The baseline is empty: nothing is required or forbidden.</p>;
  return (
    <table data-testid="baseline-entries">
      <thead>
        <tr>
          <th>component</th>
          <th>version</th>
          <th>rule</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr data-testid="baseline-entry" data-component={r.component} data-rule={r.rule}>
            <td class="id">{r.component}</td>
            <td class="id">{r.rule === 'forbidden' ? '—' : r.version}</td>
            <td>{r.rule}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function BaselineForm(props: { view: ModelBaseline; rows: BaselineRow[] }) {
  const { view } = props;
  const rows = [...props.rows, ...Array.from({ length: BLANK_ROWS }, (): BaselineRow => ({ component: '', version: '', rule: '' }))];
  const components = [...new Set(view.versions.map((v) => v.component))];
  const versions = [...new Set(view.versions.map((v) => v.version))];
  return (
    <form method="post" action={baselineHref(view.model)} data-testid="baseline-form">
      <datalist id="baseline-components">
        {components.map((c) => (
          <option value={c} />
        ))}
      </datalist>
      <datalist id="baseline-versions">
        {versions.map((v) => (
          <option value={v} />
        ))}
      </datalist>
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th>component</th>
              <th>version</th>
              <th>rule</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr>
                <td>
                  <input name="component" value={r.component} list="baseline-components" size={14} autocomplete="off" spellcheck={false} aria-label={`component ${i + 1}`} data-testid={`baseline-component-${i}`} />
                </td>
                <td>
                  <input name="version" value={r.version} list="baseline-versions" size={5} autocomplete="off" spellcheck={false} aria-label={`version ${i + 1}`} data-testid={`baseline-version-${i}`} />
                </td>
                <td>
                  <select name="rule" aria-label={`rule ${i + 1}`} data-testid={`baseline-rule-${i}`}>
                    <option value="" selected={r.rule === ''}>
                      —
                    </option>
                    <option value="required" selected={r.rule === 'required'}>
                      required
                    </option>
                    <option value="forbidden" selected={r.rule === 'forbidden'}>
                      forbidden
                    </option>
                  </select>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="muted">{`Versions uploaded for ${view.model}: ${view.versions.length === 0 ? 'none yet' : view.versions.map((v) => `${v.component} ${v.version}`).join(', ')}.`}</p>
      <p class="actions">
        <button class="primary" type="submit" data-testid="baseline-save">
          Save the baseline
        </button>
      </p>
    </form>
  );
}

export function BaselineContent(props: { view: ModelBaseline; counts: ComplianceCounts | undefined; canEdit: boolean; rows?: BaselineRow[] | undefined }) {
  const { view } = props;
  return (
    <>
      <p>
        <a href="/baselines">← Baselines</a>
      </p>
      <h1>{`Baseline of ${view.model}`}</h1>
      <section class="card" data-testid="baseline">
        <p class="muted" data-testid="baseline-updated">
          {view.updatedAt ? `${view.manufacturer}'s model; set ${when(view.updatedAt)} by ${view.updatedBy ?? '?'}.` : `${view.manufacturer}'s model; no baseline yet: its devices' applications are left as they are.`}
        </p>
        {props.canEdit ? <BaselineForm view={view} rows={props.rows ?? rowsOf(view.baseline)} /> : view.baseline ? <BaselineTable baseline={view.baseline} /> : null}
      </section>
      {props.counts ? <ComplianceCard model={view.model} counts={props.counts} /> : null}
    </>
  );
}

export function ClassDevicesContent(props: { model: string; cls: ComplianceClass; devices: ClassifiedDevice[]; after: string | undefined; next: string | null }) {
  const base = classHref(props.model, props.cls);
  return (
    <>
      <p>
        <a href={baselineHref(props.model)}>{`← Baseline of ${props.model}`}</a>
      </p>
      <h1>{`${props.model}: ${CLASS_LABELS[props.cls]}`}</h1>
      <section class="card">
        {props.devices.length === 0 ? (
          <p class="muted">No device here.</p>
        ) : (
          <div class="scroll">
            <table class="stack" data-testid="class-devices">
              <thead>
                <tr>
                  <th>device</th>
                  <th>against the baseline</th>
                  <th class="wide">inventory read</th>
                  <th class="wide">last seen</th>
                </tr>
              </thead>
              <tbody>
                {props.devices.map((d) => (
                  <tr data-testid="class-device">
                    <td>
                      <a class="id" href={`/devices/${encodeURIComponent(d.id)}`}>
                        {d.id}
                      </a>
                    </td>
                    <td data-label="against the baseline">{d.classes.map((c) => CLASS_LABELS[c]).join(', ')}</td>
                    <td class="wide" data-label="inventory read">{when(d.readAt)}</td>
                    <td class="wide" data-label="last seen">{when(d.lastSeen)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <Pager firstHref={props.after ? base : undefined} nextHref={props.next ? `${base}&after=${encodeURIComponent(props.next)}` : undefined} nextTestid="class-next-page" />
      </section>
    </>
  );
}
