// "Ask the device now" on the device page: the helpdesk live query. A plain form (presets,
// node paths, wake now or wait for the poll) posts to the console, which asks the device
// and comes back to the device page showing that query; the page's live refresh (assets.ts)
// then brings each result in as the device answers, with its Status and the time it was
// read. Operators fix a value from a result row (a one-device Replace, then a re-read).
// Every POST passes the console's guards: same Origin (CSRF), small body, a valid session.
import type { Context as HonoContext, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Context } from '../context.ts';
import { askDevice } from '../devices/helpdesk/ask.ts';
import { UI_LIMITS } from '../omadm/user-interaction.ts';
import { fixNode } from '../devices/helpdesk/fix.ts';
import { createQuerySchema, fixNodeSchema, type QueryResult, type QueryView } from '../devices/helpdesk/schemas.ts';
import { latestQuery, queryView, recentQueries } from '../devices/helpdesk/view.ts';
import { AppError } from '../errors.ts';
import { HELPDESK_PRESET_NAMES, HELPDESK_PRESETS } from '../omadm/helpdesk-presets.ts';
import { Badge } from './components.tsx';
import { when } from './format.ts';
import type { Flash } from './layout.tsx';
import type { ConsoleKit } from './render.tsx';
import { canAct, type ConsoleEnv } from './session.ts';
import type { Principal } from '../tokens/tokens.ts';

type C = HonoContext<ConsoleEnv>;
export type DevicePage = (c: C, id: string, flash?: Flash, status?: ContentfulStatusCode) => Promise<Response>;

const QUERY_ID = /^qry_[a-z0-9]{1,40}$/;
/** Values a result row offers to fix in place; a log or a listing is read, not edited. */
const FIXABLE_LENGTH = 256;
const QUERIES_LISTED = 5;

const deviceHref = (id: string) => `/devices/${encodeURIComponent(id)}`;

/** The panel for the device page: the form, and the query named in the address (else the newest). */
export async function helpdeskPanel(ctx: Context, principal: Principal, deviceId: string, queryId: string | undefined) {
  const query = queryId && QUERY_ID.test(queryId) ? await queryView(ctx, deviceId, queryId) : await latestQuery(ctx, deviceId);
  const recent = await recentQueries(ctx, deviceId, QUERIES_LISTED);
  return <HelpdeskContent deviceId={deviceId} query={query} recent={recent} canFix={canAct(principal.role)} />;
}

/** The query shown on the device page, for the live refresh's address. */
export function shownQuery(queryId: string | undefined): string | undefined {
  return queryId && QUERY_ID.test(queryId) ? queryId : undefined;
}

function HelpdeskContent(props: { deviceId: string; query: QueryView | undefined; recent: Array<{ id: string; createdAt: string; createdBy: string }>; canFix: boolean }) {
  const { deviceId, query } = props;
  return (
    <section class="card" data-testid="helpdesk">
      <h2>Ask the device now</h2>
      <form method="post" action={`${deviceHref(deviceId)}/queries`} data-testid="query-form">
        <fieldset>
          <legend>What to read</legend>
          {HELPDESK_PRESET_NAMES.map((name) => (
            <label class="check">
              <input type="checkbox" name="preset" value={name} data-testid={`preset-${name}`} /> {HELPDESK_PRESETS[name].label}
            </label>
          ))}
        </fieldset>
        <label>
          node paths, one per line (e.g. ./DevDetail/Ext/Log)
          <textarea name="nodes" rows={2} cols={48} spellcheck={false} autocomplete="off" data-testid="query-nodes" />
        </label>
        <label>
          ask the device's user first (optional): what the device shows
          <input type="text" name="confirm" maxlength={UI_LIMITS.text} size={48} autocomplete="off" placeholder="May the helpdesk read your settings?" data-testid="query-confirm" />
        </label>
        <p class="actions">
          <label class="check">
            <input type="checkbox" name="wake" value="1" checked data-testid="query-wake" /> wake it now (Package 0); else at its next poll
          </label>
          <button class="primary" type="submit" data-testid="query-ask">
            Ask the device now
          </button>
        </p>
      </form>
      {query ? <QueryResults deviceId={deviceId} query={query} canFix={props.canFix} /> : <p class="muted">No query yet.</p>}
      {props.recent.length > 1 ? (
        <p class="muted">
          {'Earlier: '}
          {props.recent
            .filter((q) => q.id !== query?.id)
            .map((q) => (
              <>
                <a href={`${deviceHref(deviceId)}?query=${q.id}`}>{`${when(q.createdAt)} by ${q.createdBy}`}</a>{' '}
              </>
            ))}
        </p>
      ) : null}
    </section>
  );
}

/** A query's confirmation as the page says it (the user's answer, or where the prompt is). */
const CONFIRMATION_TEXT: Record<string, string> = {
  waiting: 'not asked yet (at the device’s next session)',
  asking: 'waiting for the answer',
  accepted: 'accepted',
  rejected: 'rejected: nothing was read',
  cancelled: 'cancelled: nothing was read',
  timeout: 'no answer in time: asked again at the next session',
  unsupported: 'the device cannot ask its user: nothing was read',
  failed: 'the device could not ask its user: nothing was read',
};

function wakeText(query: QueryView): string {
  if (!query.wake) return 'waiting for the device to poll';
  return query.wake.delivered ? 'woken by Package 0' : `not woken (${query.wake.reason ?? 'no answer'}): waiting for its poll`;
}

function QueryResults(props: { deviceId: string; query: QueryView; canFix: boolean }) {
  const { query } = props;
  return (
    <div data-testid="query" data-query-id={query.id} data-state={query.state}>
      <p class="stage-head">
        <Badge state={query.state === 'asking' ? 'running' : query.state === 'waiting' ? 'waiting' : query.state === 'canceled' ? 'canceled' : 'done'} label={query.state} testid="query-state" />
        <span class="muted">{`asked ${when(query.createdAt)} by ${query.createdBy}; ${wakeText(query)}`}</span>
      </p>
      {query.canceled ? <p data-testid="query-canceled">{`Stopped ${when(query.canceled.at)}: ${query.canceled.reason}; its nodes not sent to the device are not read.`}</p> : null}
      {query.confirmation ? (
        <p data-testid="query-confirmation" data-state={query.confirmation.state}>
          {`The device's user was asked “${query.confirmation.text}”: ${CONFIRMATION_TEXT[query.confirmation.state] ?? query.confirmation.state}`}
        </p>
      ) : null}
      <div class="scroll">
        <table data-testid="query-results">
          <thead>
            <tr>
              <th>node</th>
              <th>value</th>
              <th>status</th>
              <th>read</th>
            </tr>
          </thead>
          <tbody>
            {query.results.map((r) => (
              <tr data-testid="query-result" data-uri={r.uri} data-state={r.state} data-source={r.source} data-command={r.command}>
                <td>
                  <code>{r.uri}</code>
                  {r.command === 'Get' ? null : <span class="muted">{` (${r.command})`}</span>}
                </td>
                <td data-testid="query-value">
                  <Value result={r} />
                </td>
                <td data-testid="query-status">{r.statusCode === null ? r.state : `${r.statusCode} ${r.statusText ?? ''}`}</td>
                <td class="muted">{r.readAt ? when(r.readAt) : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {props.canFix ? <FixForm deviceId={props.deviceId} query={query} /> : null}
    </div>
  );
}

function Value(props: { result: QueryResult }) {
  const r = props.result;
  if (r.value === null) return <span class="muted" data-testid="value-text">—</span>;
  if (r.format === 'node') return <span class="muted" data-testid="value-text">{`children: ${r.value.split('/').join(', ')}`}</span>;
  if (r.value.includes('\n') || r.value.length > FIXABLE_LENGTH) {
    return (
      <pre class="value" data-testid="value-text">
        {r.value}
        {r.truncated ? '\n…' : ''}
      </pre>
    );
  }
  return <strong data-testid="value-text">{r.value}</strong>;
}

/** A short leaf the device read: a setting one may change (a log or a listing is not). */
const fixable = (r: QueryResult) => r.command === 'Get' && r.state === 'done' && r.format !== 'node' && r.source !== 'log' && r.value !== null && r.value.length <= FIXABLE_LENGTH && !r.value.includes('\n');

/** One form under the results: pick a value read, give it a new one. */
function FixForm(props: { deviceId: string; query: QueryView }) {
  const uris = [...new Set(props.query.results.filter(fixable).map((r) => r.uri))];
  if (uris.length === 0) return null;
  return (
    <form method="post" action={`${deviceHref(props.deviceId)}/queries/${props.query.id}/fixes`} class="actions" data-testid="fix-form">
      <label>
        fix a value
        <select name="uri" data-testid="fix-uri">
          {uris.map((uri) => (
            <option value={uri}>{uri}</option>
          ))}
        </select>
      </label>
      <label>
        new value
        <input name="data" size={24} autocomplete="off" spellcheck={false} data-testid="fix-value" />
      </label>
      <button type="submit" data-testid="fix-submit">
        Set on the device
      </button>
    </form>
  );
}

/** Form fields as one list ("preset" repeats; node paths come one per line). */
function listOf(value: string | File | Array<string | File> | undefined): string[] {
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return values.filter((v): v is string => typeof v === 'string');
}

export function mountHelpdesk(app: Hono<ConsoleEnv>, ctx: Context, kit: ConsoleKit, devicePage: DevicePage): void {
  const { viewer, sameOrigin, form, page } = kit;

  app.post(
    '/devices/:id/queries',
    sameOrigin,
    form,
    viewer,
    page(async (c) => {
      const id = c.req.param('id') ?? '';
      const body = await c.req.parseBody({ all: true });
      const nodes = listOf(body.nodes)
        .flatMap((text) => text.split(/\r?\n/))
        .map((line) => line.trim())
        .filter(Boolean);
      const confirmText = listOf(body.confirm).join('').trim();
      // A query asked from the page gives the user two minutes.
      const confirm = confirmText === '' ? {} : { confirm: { text: confirmText, maxSeconds: 120 } };
      const parsed = createQuerySchema.safeParse({ presets: listOf(body.preset), nodes, wake: listOf(body.wake).length > 0, ...confirm });
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const where = issue?.path[0] === 'nodes' ? `node path ${typeof issue.path[1] === 'number' ? `“${nodes[issue.path[1]] ?? ''}”` : ''}: ` : '';
        return devicePage(c, id, { kind: 'error', text: `${where}${issue?.message ?? 'invalid query'}` }, 400);
      }
      const query = await askDevice(ctx, c.get('principal'), id, parsed.data);
      return c.redirect(`${deviceHref(id)}?query=${query.id}&done=query`, 303);
    }),
  );

  app.post(
    '/devices/:id/queries/:queryId/fixes',
    sameOrigin,
    form,
    viewer,
    page(async (c) => {
      const principal = c.get('principal');
      const id = c.req.param('id') ?? '';
      const queryId = c.req.param('queryId') ?? '';
      if (!canAct(principal.role)) throw new AppError('FORBIDDEN', `${principal.name} is an ${principal.role}: only an operator can change a device's settings.`);
      const body = await c.req.parseBody();
      // The node's format as the device gave it (int, bool), else text.
      const read = (await queryView(ctx, id, queryId)).results.find((r) => r.uri === body.uri && r.command === 'Get' && r.state === 'done');
      const format = read?.format === 'int' || read?.format === 'bool' ? read.format : 'chr';
      const parsed = fixNodeSchema.safeParse({ uri: body.uri, data: body.data, format });
      if (!parsed.success) return devicePage(c, id, { kind: 'error', text: parsed.error.issues[0]?.message ?? 'invalid value' }, 400);
      await fixNode(ctx, principal, id, queryId, parsed.data);
      return c.redirect(`${deviceHref(id)}?query=${encodeURIComponent(queryId)}&done=fix`, 303);
    }),
  );
}
