// What the reference agent answers a helpdesk beyond DevInfo and DevDetail: its DM account
// (./DMAcc, without its secrets), its bearers (./ConnMO), the applications it runs
// (./SCOMO/Inventory/Deployed, when it has any) and its event log (the last lines the
// agent logged, timestamped, newest last). Read-only, computed when asked.
import { CONNECTIVITY_NODE, LOG_NODE } from '../omadm/helpdesk-presets.ts';
import type { NodeValue } from './tree.ts';

/** An application as SCOMO lists it under Inventory/Deployed. */
export interface DeployedApp {
  id: string;
  name: string;
  version: string;
  state: 'active' | 'inactive';
}

/** The applications a simulated device runs (fota simulate). */
export const SIMULATED_APPS: readonly DeployedApp[] = [
  { id: 'com.fota.telemetry', name: 'Telemetry agent', version: '2.3.1', state: 'active' },
  { id: 'com.fota.kiosk', name: 'Kiosk shell', version: '1.0.4', state: 'inactive' },
];

/** Lines the event log keeps: enough to see what happened in the last sessions. */
export const EVENT_LOG_LINES = 200;

/** The agent's event log: a ring of timestamped lines. */
export class EventLog {
  private readonly lines: string[] = [];

  constructor(private readonly now: () => Date = () => new Date()) {}

  add(line: string): void {
    this.lines.push(`${this.now().toISOString()} ${line}`);
    if (this.lines.length > EVENT_LOG_LINES) this.lines.splice(0, this.lines.length - EVENT_LOG_LINES);
  }

  text(): string {
    return this.lines.join('\n');
  }
}

export interface HelpdeskFacts {
  username: string;
  /** Applications the device runs; none: the device has no SCOMO and answers 404 there. */
  apps?: readonly DeployedApp[];
  log: EventLog;
}

const chr = (data: string): NodeValue => ({ data, format: 'chr' });

/**
 * Bearer settings a server may change (kept with the agent's other server-set values, so a
 * change survives a restart); the rest of ./ConnMO is measured, read-only.
 */
export const WRITABLE_SETTINGS: Readonly<Record<string, string>> = {
  [`${CONNECTIVITY_NODE}/wlan0/SSID`]: 'plant-floor-5g',
  [`${CONNECTIVITY_NODE}/cell/APN`]: 'iot.fota.example',
};

/**
 * The DM server address of the device's account: the server may move the device to another
 * address (a configuration profile's Replace), so it is a setting the agent keeps, not a
 * computed node; it starts as the address the agent was given.
 */
export const DM_ACCOUNT_ADDR = './DMAcc/fota/AppAddr/1/Addr';

export function helpdeskNodes(facts: HelpdeskFacts): Record<string, NodeValue> {
  const account = './DMAcc/fota';
  const nodes: Record<string, NodeValue> = {
    [`${account}/ServerID`]: chr('fota'),
    [`${account}/Name`]: chr('fota device management'),
    [`${account}/AppAddr/1/AddrType`]: chr('URI'),
    [`${account}/AAuthPref`]: chr('DIGEST'),
    [`${account}/AppAuth/1/AAuthLevel`]: chr('CLCRED'),
    [`${account}/AppAuth/1/AAuthType`]: chr('DIGEST'),
    [`${account}/AppAuth/1/AAuthName`]: chr(facts.username),
    [`${CONNECTIVITY_NODE}/wlan0/Type`]: chr('WLAN'),
    [`${CONNECTIVITY_NODE}/wlan0/State`]: chr('connected'),
    [`${CONNECTIVITY_NODE}/wlan0/RSSI`]: { data: '-61', format: 'int' },
    [`${CONNECTIVITY_NODE}/cell/Type`]: chr('LTE'),
    [`${CONNECTIVITY_NODE}/cell/State`]: chr('standby'),
    [LOG_NODE]: chr(facts.log.text()),
  };
  for (const [i, app] of (facts.apps ?? []).entries()) {
    const base = `./SCOMO/Inventory/Deployed/${i + 1}`;
    nodes[`${base}/ID`] = chr(app.id);
    nodes[`${base}/Name`] = chr(app.name);
    nodes[`${base}/Version`] = chr(app.version);
    nodes[`${base}/State`] = chr(app.state);
  }
  return nodes;
}
