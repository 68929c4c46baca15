// Device pages: the fleet, a page at a time, filtered by anything in the query string
// (model, firmware, tag, last seen, campaign, stage, state, result code), and one device
// with its inventory tree, firmware, and deployments with their state history.
import type { Child } from 'hono/jsx';
import { DEPLOYMENT_STATES } from '../campaigns/policy.ts';
import type { DeploymentView } from '../deployments/schemas.ts';
import { type DeviceFilter, filterQuery } from '../campaigns/device-filter.ts';
import type { DevicePage } from '../devices/devices.ts';
import type { DeviceView } from '../devices/schemas.ts';
import { Badge, Pager } from './components.tsx';
import { bytes, resultText, when } from './format.ts';

const deviceHref = (id: string) => `/devices/${encodeURIComponent(id)}`;

const SEEN_LABELS: Record<string, string> = { day: 'in the last day', week: 'in the last week', stale: 'not for a week or more', never: 'never' };

/** Page sizes an operator may pick; the first is the default. */
export const PAGE_SIZES = [50, 200, 1000] as const;

function FilterField(props: { name: keyof DeviceFilter; label: string; value: string | number | undefined; size?: number }) {
  return (
    <label>
      {props.label}
      <input name={props.name} value={props.value === undefined ? '' : String(props.value)} size={props.size ?? 12} autocomplete="off" spellcheck={false} data-testid={`filter-${props.name}`} />
    </label>
  );
}

/** What the filter asks for, in words: the line above the list. */
function describe(f: DeviceFilter): string {
  const parts: string[] = [];
  if (f.q) parts.push(`id starting with “${f.q}”`);
  if (f.model) parts.push(`model ${f.model}`);
  if (f.version) parts.push(`firmware ${f.version}`);
  if (f.tag) parts.push(`tagged ${f.tag}`);
  if (f.seen) parts.push(`seen ${SEEN_LABELS[f.seen] ?? f.seen}`);
  if (f.campaign) parts.push(`in campaign ${f.campaign}${f.stage ? ` stage ${f.stage}` : ''}`);
  else if (f.stage) parts.push(`stage ${f.stage}`);
  if (f.state) parts.push(`deployment ${f.state}`);
  if (f.result) parts.push(f.result === 'timeout' ? 'timed out' : `result ${f.result} (${resultText(f.result)})`);
  return parts.join(', ');
}

export function DevicesContent(props: { page: DevicePage; filter: DeviceFilter; after: string | undefined; perPage: number; savedFilters?: Child }) {
  const { page, filter } = props;
  const per: Record<string, string> = props.perPage === PAGE_SIZES[0] ? {} : { per: String(props.perPage) };
  const first = `/devices?${filterQuery(filter, per)}`;
  const summary = describe(filter);
  return (
    <>
      <h1>Devices</h1>
      <p class="actions">
        <a class="button" href="/devices/new" data-testid="register-link">
          Register a device
        </a>
      </p>
      <section class="card">
        <form method="get" action="/devices" class="actions filters" role="search" data-testid="device-filters">
          <FilterField name="q" label="id starts with" value={filter.q} />
          <FilterField name="model" label="model" value={filter.model} />
          <FilterField name="version" label="firmware" value={filter.version} size={8} />
          <FilterField name="tag" label="tag" value={filter.tag} size={8} />
          <label>
            last seen
            <select name="seen" data-testid="filter-seen">
              <option value="">any time</option>
              {Object.entries(SEEN_LABELS).map(([value, label]) => (
                <option value={value} selected={filter.seen === value}>
                  {label}
                </option>
              ))}
            </select>
          </label>
          <FilterField name="campaign" label="campaign" value={filter.campaign} size={16} />
          <FilterField name="stage" label="stage" value={filter.stage} size={3} />
          <label>
            deployment state
            <select name="state" data-testid="filter-state">
              <option value="">any</option>
              {DEPLOYMENT_STATES.map((s) => (
                <option value={s} selected={filter.state === s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <FilterField name="result" label="result code" value={filter.result} size={6} />
          <label>
            per page
            <select name="per" data-testid="filter-per">
              {PAGE_SIZES.map((n) => (
                <option value={String(n)} selected={props.perPage === n}>
                  {String(n)}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" data-testid="filter-apply">
            Filter
          </button>
          {summary ? <a href="/devices">clear</a> : null}
        </form>
        {props.savedFilters}
        <p class="muted" data-testid="device-total">
          {`${page.total} device${page.total === 1 ? '' : 's'}${summary ? `: ${summary}` : ''}`}
        </p>
        {page.devices.length === 0 ? null : (
          <div class="scroll">
            <table class="stack" data-testid="devices">
              <thead>
                <tr>
                  <th>device</th>
                  <th>model</th>
                  <th>firmware</th>
                  <th class="wide">tags</th>
                  <th class="wide">last seen</th>
                </tr>
              </thead>
              <tbody>
                {page.devices.map((d) => (
                  <tr data-testid="device-row">
                    <td>
                      <a class="id" href={deviceHref(d.id)}>
                        {d.id}
                      </a>
                    </td>
                    <td data-label="model">{d.model}</td>
                    <td class="id" data-label="firmware">{d.firmwareVersion ?? '—'}</td>
                    <td class="wide" data-label="tags">{d.tags.join(', ')}</td>
                    <td class="wide" data-label="last seen">{when(d.lastSeen)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <Pager firstHref={props.after ? first : undefined} nextHref={page.next ? `/devices?${filterQuery(filter, { ...per, after: page.next })}` : undefined} nextTestid="next-page" />
      </section>
    </>
  );
}

interface TreeNode {
  name: string;
  value?: { value: string; at: string };
  children: Map<string, TreeNode>;
}

/** The flat inventory ("./DevDetail/FwV" -> value) as the DM tree it came from. */
function inventoryTree(inventory: DeviceView['inventory']): TreeNode {
  const root: TreeNode = { name: '.', children: new Map() };
  for (const uri of Object.keys(inventory).sort()) {
    let node = root;
    for (const part of uri.replace(/^\.\//, '').split('/')) {
      let child = node.children.get(part);
      if (!child) node.children.set(part, (child = { name: part, children: new Map() }));
      node = child;
    }
    const value = inventory[uri];
    if (value) node.value = value;
  }
  return root;
}

function TreeItems(props: { node: TreeNode }) {
  return (
    <>
      {[...props.node.children.values()].map((child) => (
        <li>
          <code>{child.name}</code>
          {child.value ? (
            <>
              {' = '}
              <strong>{child.value.value}</strong> <span class="muted">{`(read ${when(child.value.at)})`}</span>
            </>
          ) : null}
          {child.children.size > 0 ? (
            <ul>
              <TreeItems node={child} />
            </ul>
          ) : null}
        </li>
      ))}
    </>
  );
}

export function DeviceContent(props: { device: DeviceView; deployments: DeploymentView[]; totalDeployments: number; manage?: Child; helpdesk?: Child; timeline?: Child; configuration?: Child; apps?: Child }) {
  const d = props.device;
  const tree = inventoryTree(d.inventory);
  return (
    <>
      <p>
        <a href="/devices">← Devices</a>
      </p>
      <h1 class="id">{d.id}</h1>
      <div class="two">
        <section class="card">
          <h2>Device</h2>
          <dl class="facts">
            <div>
              <dt>model</dt>
              <dd>{d.model}</dd>
            </div>
            <div>
              <dt>firmware</dt>
              <dd class="id" data-testid="device-firmware">
                {d.firmwareVersion ?? 'unknown'}
              </dd>
            </div>
            <div>
              <dt>manufacturer</dt>
              <dd>{d.manufacturer ?? '—'}</dd>
            </div>
            <div>
              <dt>tags</dt>
              <dd data-testid="device-tags">{d.tags.length ? d.tags.join(', ') : '—'}</dd>
            </div>
            <div>
              <dt>last seen</dt>
              <dd>{when(d.lastSeen)}</dd>
            </div>
            <div>
              <dt>registered</dt>
              <dd>{`${when(d.createdAt)}, DM auth ${d.authType}`}</dd>
            </div>
          </dl>
          {props.manage}
        </section>
        <section class="card">
          <h2>Inventory</h2>
          {tree.children.size === 0 ? (
            <p class="muted">Nothing reported yet: the inventory is read at the device's next DM session.</p>
          ) : (
            <ul class="tree" data-testid="inventory">
              <TreeItems node={tree} />
            </ul>
          )}
        </section>
      </div>
      {props.helpdesk}
      <section class="card" data-testid="deployments">
        <h2>Deployments</h2>
        {props.deployments.length === 0 ? <p class="muted">None yet.</p> : null}
        {props.totalDeployments > props.deployments.length ? <p class="muted">{`The ${props.deployments.length} most recent of ${props.totalDeployments}.`}</p> : null}
        {props.deployments.map((dep) => (
          <article class="stage" data-testid={`deployment-${dep.id}`}>
            <div class="stage-head">
              <span class="id">{dep.id}</span>
              <Badge state={dep.state} />
              {dep.resultCode !== null ? <span>{`result ${dep.resultCode}: ${resultText(dep.resultCode)}`}</span> : null}
            </div>
            <p class="muted">
              {dep.buildId === null ? `configuration profile version ${dep.profileVersionId ?? '?'}` : 'build '}
              {dep.buildId === null ? null : <a href={`/builds/${encodeURIComponent(dep.buildId)}`}>{dep.buildId}</a>}
              {`, package ${dep.packageId ?? '—'}, ${bytes(dep.bytesServed)} served, ${dep.attempts} attempt${dep.attempts === 1 ? '' : 's'}, ${dep.mode}`}
            </p>
            <ol class="history">
              {dep.history.map((h) => (
                <li>
                  <span class="muted">{when(h.at)}</span> <strong>{h.state}</strong> {h.cause}
                </li>
              ))}
            </ol>
          </article>
        ))}
      </section>
      {props.apps}
      {props.configuration}
      {props.timeline}
    </>
  );
}
