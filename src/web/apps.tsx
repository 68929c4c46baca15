// Application pages: the catalogue of uploaded application versions (size, signing key,
// the versions each has a delta from, when and by whom it was uploaded), filtered by model
// and component a page at a time; and, for a manufacturer's session, uploading a version
// with its progress shown, as builds are uploaded (upload.tsx): the file is the request
// body, streamed by the route into the same uploadApp the API calls.
import type { CatalogEntry, CatalogPage } from '../scomo/catalog.ts';
import { Pager } from './components.tsx';
import { bytes, when } from './format.ts';
import { uploadScript } from './upload-script.ts';

export const APPS_PATH = '/apps';
export const APP_UPLOAD_PATH = '/apps/upload';
/** Page sizes an operator may pick; the first is the default. */
export const APP_PAGE_SIZES = [50, 200] as const;

export interface AppsFilter {
  model?: string | undefined;
  component?: string | undefined;
}

/** The list's address for a filter, a page size and a position. */
export function appsHref(filter: AppsFilter, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams();
  if (filter.model) q.set('model', filter.model);
  if (filter.component) q.set('component', filter.component);
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  const s = q.toString();
  return s ? `${APPS_PATH}?${s}` : APPS_PATH;
}

const short = (keyid: string) => keyid.slice(0, 16);

export function AppsTable(props: { items: CatalogEntry[] }) {
  return (
    <div class="scroll">
      <table class="stack" data-testid="apps">
        <thead>
          <tr>
            <th>component</th>
            <th>version</th>
            <th>model</th>
            <th class="n">size</th>
            <th>signed by</th>
            <th>deltas from</th>
            <th class="wide">uploaded</th>
          </tr>
        </thead>
        <tbody>
          {props.items.map((a) => (
            <tr data-testid="app-row" data-app-id={a.id} data-component={a.component} data-version={a.version}>
              <td>
                <a class="id" href={appsHref({ model: a.model, component: a.component })}>
                  {a.component}
                </a>
                <div class="id muted">{a.id}</div>
              </td>
              <td class="id" data-label="version">{a.version}</td>
              <td data-label="model">
                <a href={`/baselines/${encodeURIComponent(a.model)}`}>{a.model}</a>
                <div class="muted">{a.manufacturer}</div>
              </td>
              <td class="n" data-label="size" data-testid="app-size">
                {bytes(a.size)}
              </td>
              <td data-label="signed by" data-testid="app-signers">
                {a.signers.map((k) => (
                  <span class="id" title={k}>
                    {short(k)}{' '}
                  </span>
                ))}
              </td>
              <td data-label="deltas from" data-testid="app-deltas">
                {a.deltasFrom.length === 0 ? <span class="muted">full package only</span> : <span class="id">{a.deltasFrom.join(', ')}</span>}
              </td>
              <td class="wide" data-label="uploaded" data-testid="app-uploaded">
                {`${when(a.uploadedAt)} by ${a.uploadedBy}`}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function AppsContent(props: { page: CatalogPage; filter: AppsFilter; before: string | undefined; perPage: number }) {
  const { page, filter } = props;
  const per: Record<string, string> = props.perPage === APP_PAGE_SIZES[0] ? {} : { per: String(props.perPage) };
  const filtered = Boolean(filter.model || filter.component);
  return (
    <>
      <h1>Applications</h1>
      <p class="muted">
        {'Application packages (SCOMO) uploaded by manufacturers. What each model runs is its '}
        <a href="/baselines">baseline</a>.
      </p>
      <section class="card">
        <form method="get" action={APPS_PATH} class="actions filters" role="search" data-testid="app-filters">
          <label>
            model
            <input name="model" value={filter.model ?? ''} size={14} autocomplete="off" spellcheck={false} data-testid="apps-filter-model" />
          </label>
          <label>
            component
            <input name="component" value={filter.component ?? ''} size={20} autocomplete="off" spellcheck={false} data-testid="apps-filter-component" />
          </label>
          <label>
            per page
            <select name="per">
              {APP_PAGE_SIZES.map((n) => (
                <option value={String(n)} selected={props.perPage === n}>
                  {String(n)}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" data-testid="apps-filter-apply">
            Filter
          </button>
          {filtered ? <a href={APPS_PATH}>clear</a> : null}
        </form>
        {page.items.length === 0 ? (
          <p class="muted" data-testid="apps-empty">
            {filtered ? 'No application matches this filter.' : 'No applications yet: a manufacturer uploads them (fota app upload, or the console).'}
          </p>
        ) : (
          <AppsTable items={page.items} />
        )}
        <Pager firstHref={props.before ? appsHref(filter, per) : undefined} nextHref={page.next ? appsHref(filter, { ...per, before: page.next }) : undefined} nextTestid="apps-next-page" />
      </section>
    </>
  );
}

/** The app upload's script (upload-script.ts, as the build upload's). */
export const APP_UPLOAD_SCRIPT = uploadScript({
  form: 'app-upload',
  bar: 'app-upload-progress',
  status: 'app-upload-status',
  file: 'file',
  missing: 'Choose the application file first.',
  path: APP_UPLOAD_PATH,
  okStatus: 201,
  query: "var q = new URLSearchParams({ model: field('model'), component: field('component'), version: field('version') });",
  done: "var deltas = body.packages.filter(function (p) { return p.kind === 'bsdiff40'; }).map(function (p) { return p.fromVersion; }); out.textContent = 'Uploaded ' + body.component + ' ' + body.version + ' as ' + body.id + ': signed in full' + (deltas.length ? ' and as deltas from ' + deltas.join(', ') : '') + '.'; out.dataset.appId = body.id;",
  doneKey: 'appId',
});

export function AppUploadContent(props: { maxBytes: number; mine: CatalogEntry[] }) {
  return (
    <>
      <h1>Upload an application</h1>
      <form id="app-upload" class="card form" data-testid="app-upload-form">
        <fieldset>
          <legend>Application</legend>
          <label>
            model
            <input name="model" size={16} autocomplete="off" data-testid="app-upload-model" />
          </label>
          <label>
            component id
            <input name="component" size={24} autocomplete="off" spellcheck={false} placeholder="com.example.maps" data-testid="app-upload-component" />
          </label>
          <label>
            version
            <input name="version" size={10} autocomplete="off" data-testid="app-upload-version" />
          </label>
          <label>
            file
            <input name="file" type="file" data-testid="app-upload-file" />
          </label>
        </fieldset>
        <p class="muted">{`Up to ${bytes(props.maxBytes)}. Signed here with your active key: a full package, and deltas from the component's recent versions where they pay.`}</p>
        <button class="primary" type="submit" data-testid="app-upload-submit">
          Upload
        </button>
        <progress id="app-upload-progress" hidden data-testid="app-upload-progress" />
        <p id="app-upload-status" role="status" aria-live="polite" data-testid="app-upload-status" />
      </form>
      <noscript>
        <p>Uploading from the console needs JavaScript; without it use <code>fota app upload</code>.</p>
      </noscript>
      <section class="card">
        <h2>Your applications</h2>
        {props.mine.length === 0 ? <p class="muted">None yet.</p> : <AppsTable items={props.mine} />}
      </section>
    </>
  );
}
