// Device pages: the fleet, a page at a time and searchable by id prefix, and one device
// with its inventory tree, firmware, and deployments with their state history.
import type { DeploymentView } from '../deployments/schemas.ts';
import type { DevicePage } from '../devices/devices.ts';
import type { DeviceView } from '../devices/schemas.ts';
import { Badge } from './components.tsx';
import { bytes, resultText, when } from './format.ts';

const deviceHref = (id: string) => `/devices/${encodeURIComponent(id)}`;

export function DevicesContent(props: { page: DevicePage; prefix: string; after: string | undefined }) {
  const { page, prefix } = props;
  const query = (after: string) => `/devices?${new URLSearchParams({ ...(prefix ? { q: prefix } : {}), after }).toString()}`;
  return (
    <>
      <h1>Devices</h1>
      <section class="card">
        <form method="get" action="/devices" class="actions" role="search">
          <label>
            id starts with (case-sensitive)
            <input name="q" type="search" value={prefix} maxlength={128} autocomplete="off" spellcheck={false} data-testid="device-search" />
          </label>
          <button type="submit">Search</button>
          {prefix ? <a href="/devices">clear</a> : null}
        </form>
        <p class="muted" data-testid="device-total">
          {`${page.total} device${page.total === 1 ? '' : 's'}${prefix ? ` with an id starting with “${prefix}”` : ''}`}
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
                  <tr>
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
        <p class="pager">
          {props.after ? <a href={prefix ? `/devices?${new URLSearchParams({ q: prefix }).toString()}` : '/devices'}>first page</a> : null}
          {page.next ? (
            <a href={query(page.next)} data-testid="next-page">
              next page →
            </a>
          ) : null}
        </p>
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

export function DeviceContent(props: { device: DeviceView; deployments: DeploymentView[]; totalDeployments: number }) {
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
              <dd>{d.tags.length ? d.tags.join(', ') : '—'}</dd>
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
              build <a href={`/builds/${encodeURIComponent(dep.buildId)}`}>{dep.buildId}</a>
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
    </>
  );
}
