// Which DM nodes answer a helpdesk's questions (OMA DM use case "problem determination":
// device type, serial number, OS version, capabilities, installed applications,
// connectivity configuration, logs). Standard objects where there is one (DevInfo,
// DevDetail, DMAcc, SCOMO); fota's own vendor node under DevDetail/Ext for the log.
// Shared by the server (what a query asks) and the reference agent (what it answers).

/** The device's event log: recent lines as text, newest last (fota's vendor extension). */
export const LOG_NODE = './DevDetail/Ext/Log';

/** Connectivity settings beyond the DM account: one interior node per bearer. */
export const CONNECTIVITY_NODE = './ConnMO';

/** A node a query reads; `depth` levels of children are read too when it is an interior node. */
export interface PresetNode {
  uri: string;
  depth?: number;
}

export const HELPDESK_PRESETS = {
  type: { label: 'device type and model', nodes: [{ uri: './DevInfo/Man' }, { uri: './DevInfo/Mod' }, { uri: './DevDetail/DevTyp' }, { uri: './DevDetail/OEM' }] },
  serial: { label: 'serial number (DevId)', nodes: [{ uri: './DevInfo/DevId' }] },
  versions: { label: 'OS and firmware version', nodes: [{ uri: './DevDetail/FwV' }, { uri: './DevDetail/SwV' }, { uri: './DevDetail/HwV' }] },
  capabilities: {
    label: 'capabilities',
    nodes: [
      { uri: './DevInfo/DmV' },
      { uri: './DevInfo/Lang' },
      { uri: './DevDetail/LrgObj' },
      { uri: './DevDetail/URI/MaxDepth' },
      { uri: './DevDetail/URI/MaxTotLen' },
      { uri: './DevDetail/URI/MaxSegLen' },
    ],
  },
  // Deployed/<x>/{ID, Name, Version, State, ...}: two levels below the list.
  apps: { label: 'installed applications', nodes: [{ uri: './SCOMO/Inventory/Deployed', depth: 2 }] },
  // DMAcc/<x>/AppAddr/<y>/Addr is four levels down; credentials are never read (secret nodes).
  connectivity: { label: 'connectivity configuration', nodes: [{ uri: './DMAcc', depth: 4 }, { uri: CONNECTIVITY_NODE, depth: 2 }] },
  log: { label: 'event log', nodes: [{ uri: LOG_NODE }] },
} as const satisfies Record<string, { label: string; nodes: readonly PresetNode[] }>;

export type HelpdeskPreset = keyof typeof HELPDESK_PRESETS;
export const HELPDESK_PRESET_NAMES = Object.keys(HELPDESK_PRESETS) as HelpdeskPreset[];

/**
 * Nodes that hold credentials (DMAcc AppAuth secrets and nonces, passwords): a helpdesk
 * never reads or writes them, and a query following an interior node skips them.
 */
export function isSecretNode(uri: string): boolean {
  const name = uri.split('/').pop() ?? '';
  return /secret|password|passwd|^aauthdata$|pw$|^pin$|key$/i.test(name);
}
