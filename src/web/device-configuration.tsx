// The device page's configuration card: the values the device read back after profiles
// were applied (what the server knows of its settings), and its recent profile
// applications with every Status and the first failing one.
import type { DeviceConfiguration } from '../profiles/schemas.ts';
import { when } from './format.ts';

export function DeviceConfigurationCard(props: { view: DeviceConfiguration }) {
  const { values, applications } = props.view;
  return (
    <section class="card" data-testid="device-configuration">
      <h2>Configuration</h2>
      {values.length === 0 ? (
        <p class="muted">No configuration reported yet: apply a profile (fota profile apply, or a configuration campaign).</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>node</th>
              <th>value</th>
              <th>read back</th>
            </tr>
          </thead>
          <tbody>
            {values.map((v) => (
              <tr data-testid="configuration-value">
                <td class="id">{v.uri}</td>
                <td>{v.value}</td>
                <td class="muted">{when(v.reportedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {applications.length === 0 ? null : (
        <ol class="history">
          {applications.map((a) => (
            <li data-testid="profile-application">
              <span class="muted">{when(a.createdAt)}</span> <strong>{`${a.reason} ${a.state}`}</strong>
              {a.failureCode === null ? null : <span>{` (Status ${a.failureCode})`}</span>}
              {a.failureReason ? <div>{a.failureReason}</div> : a.state === 'queued' && a.attempts > 1 ? <div class="muted">{`sent ${a.attempts} times: the device's sessions were lost before its Statuses came back`}</div> : null}
              <div class="muted">{a.statuses.map((s) => `${s.command} ${s.uri} ${s.status ?? '-'}`).join('; ') || 'waiting for the device'}</div>
              {a.drift && a.drift.length > 0 ? <div>{`drift: ${a.drift.map((d) => `${d.uri} is ${d.actual === null ? 'unreadable' : JSON.stringify(d.actual)}, profile says ${JSON.stringify(d.expected)}`).join('; ')}`}</div> : null}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
