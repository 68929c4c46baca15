// The device page's applications card: the components the device last reported in
// ./SCOMO/Inventory/Deployed (version, active or inactive, when read), what its model's
// baseline still asks of it, its SCOMO deployments with their result codes and meanings,
// and, for operators, the one-device operations (install a version, activate, deactivate,
// remove) that POST /api/v1/devices/:id/apps offers.
import type { z } from 'zod';
import type { deviceAppsViewSchema } from '../scomo/schemas.ts';
import { Badge } from './components.tsx';
import { when } from './format.ts';

export type DeviceApps = z.infer<typeof deviceAppsViewSchema>;

const actionPath = (deviceId: string) => `/devices/${encodeURIComponent(deviceId)}/apps`;

function OperationButton(props: { deviceId: string; operation: 'activate' | 'deactivate' | 'remove'; component: string }) {
  return (
    <form method="post" action={actionPath(props.deviceId)} {...(props.operation === 'remove' ? { 'data-confirm': `Remove ${props.component} from this device?` } : {})}>
      <input type="hidden" name="operation" value={props.operation} />
      <input type="hidden" name="component" value={props.component} />
      <button type="submit" class={props.operation === 'remove' ? 'danger' : undefined} data-testid={`app-${props.operation}-${props.component}`}>
        {props.operation}
      </button>
    </form>
  );
}

function InstallForm(props: { deviceId: string; versions: Array<{ component: string; version: string }> }) {
  if (props.versions.length === 0) return <p class="muted">No application uploaded for this model: nothing to install.</p>;
  return (
    <form method="post" action={actionPath(props.deviceId)} class="actions" data-testid="app-install-form">
      <input type="hidden" name="operation" value="install" />
      <label>
        install
        <select name="app" data-testid="app-install-choice">
          {props.versions.map((v) => (
            <option value={`${v.component}@${v.version}`}>{`${v.component} ${v.version}`}</option>
          ))}
        </select>
      </label>
      <label>
        how
        <select name="mode">
          <option value="downloadInstall">DownloadInstall</option>
          <option value="twoStep">Download, then Install</option>
        </select>
      </label>
      <button type="submit" data-testid="app-install-submit">
        Install at its next session
      </button>
    </form>
  );
}

export function DeviceAppsCard(props: { view: DeviceApps; versions: Array<{ component: string; version: string }>; canAct: boolean }) {
  const { view } = props;
  const busy = new Set(view.deployments.filter((d) => d.state === 'scheduled' || d.state === 'commanded').map((d) => d.component));
  return (
    <section class="card" data-testid="device-apps">
      <h2>Applications</h2>
      <p class="muted" data-testid="apps-read-at">
        {view.readAt ? `Inventory read ${when(view.readAt)}.` : "Inventory not read yet: it is read in the device's DM sessions once its model has a baseline or an operation is asked here."}
      </p>
      {view.components.length === 0 ? null : (
        <div class="scroll">
          <table data-testid="app-inventory">
            <thead>
              <tr>
                <th>component</th>
                <th>version</th>
                <th>state</th>
                {props.canAct ? <th>operations</th> : null}
              </tr>
            </thead>
            <tbody>
              {view.components.map((c) => (
                <tr data-testid="installed-app" data-component={c.component} data-version={c.version} data-state={c.state}>
                  <td>
                    <span class="id">{c.component}</span>
                    {c.name ? <div class="muted">{c.name}</div> : null}
                  </td>
                  <td class="id">{c.version}</td>
                  <td>
                    <Badge state={c.state === 'active' ? 'ready' : 'paused'} label={c.state} />
                  </td>
                  {props.canAct ? (
                    <td>
                      {busy.has(c.component) ? (
                        <span class="muted">operation under way</span>
                      ) : (
                        <div class="actions">
                          <OperationButton deviceId={view.deviceId} operation={c.state === 'active' ? 'deactivate' : 'activate'} component={c.component} />
                          <OperationButton deviceId={view.deviceId} operation="remove" component={c.component} />
                        </div>
                      )}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {view.drift.length === 0 ? null : (
        <p class="reason" data-testid="app-drift">
          {`The model's baseline still asks: ${view.drift.map((d) => `${d.operation} ${d.component}${d.version ? ` ${d.version}` : ''}`).join('; ')}.`}
        </p>
      )}
      {props.canAct ? <InstallForm deviceId={view.deviceId} versions={props.versions} /> : null}
      <h3>SCOMO deployments</h3>
      {view.deployments.length === 0 ? (
        <p class="muted">None yet.</p>
      ) : (
        <div class="scroll">
          <table data-testid="scomo-deployments">
            <thead>
              <tr>
                <th>operation</th>
                <th>state</th>
                <th>result</th>
                <th>why</th>
                <th class="wide">last change</th>
              </tr>
            </thead>
            <tbody>
              {view.deployments.map((d) => {
                const last = d.history.at(-1);
                return (
                  <tr data-testid="scomo-deployment" data-id={d.id} data-component={d.component} data-operation={d.operation} data-state={d.state}>
                    <td>
                      {`${d.operation} `}
                      <span class="id">{d.component}</span>
                      {d.targetVersion ? <span class="id">{` ${d.targetVersion}`}</span> : null}
                      <div class="id muted">{d.id}</div>
                    </td>
                    <td>
                      <Badge state={d.state} />
                    </td>
                    <td data-testid="scomo-result">{d.result ?? '—'}</td>
                    <td>{d.reason === 'baseline' ? 'baseline' : 'operator'}</td>
                    <td class="wide">{last ? `${when(last.at)}: ${last.cause}` : '—'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
