// A simulated factory flash: the agent reads its DM account from a bootstrap document
// (a CP provisioning document in WBXML or XML, or a DM bootstrap message in WBXML, as fota's
// enrollment export writes them) into ./DMAcc of its tree, and from then on takes its
// server address and credentials from there, as a real device does: a credential the
// server later Replaces is the one the next session uses.
import { readFile } from 'node:fs/promises';
import { AppError } from '../errors.ts';
import { accountFromCp } from '../omadm/provisioning/cp-document.ts';
import { decodeCpWbxml, PROV10_PUBLIC_ID } from '../omadm/provisioning/cp-wbxml.ts';
import { parseCpXml } from '../omadm/provisioning/cp-xml.ts';
import { accountFromLeaves, accountNodes, type DmAccount } from '../omadm/provisioning/dm-account.ts';
import { readDmBootstrap } from '../omadm/provisioning/dm-bootstrap.ts';

/** Bootstrap documents are small; a larger file is not one. */
const MAX_BOOTSTRAP_BYTES = 64 * 1024;

/** The DMAcc leaves (URI -> value) a bootstrap file gives a device with this DevId. */
export async function readBootstrapFile(path: string, devId: string): Promise<Record<string, string>> {
  const bytes = await readFile(path);
  if (bytes.length > MAX_BOOTSTRAP_BYTES) throw new AppError('VALIDATION', `${path} is ${bytes.length} bytes: not a bootstrap document (at most ${MAX_BOOTSTRAP_BYTES})`);
  const account = bootstrapAccount(bytes, devId, path);
  return Object.fromEntries(accountNodes(account).flatMap((n) => (n.data === undefined ? [] : [[n.uri, n.data] as const])));
}

function bootstrapAccount(bytes: Uint8Array, devId: string, path: string): DmAccount {
  // XML (a .cp.xml): it starts with "<", after an optional byte order mark and whitespace.
  if (/^(\uFEFF)?\s*</.test(new TextDecoder().decode(bytes.subarray(0, 64)))) return accountFromCp(parseCpXml(bytes));
  // WBXML: version byte, then the public id (PROV 1.0 = 0x0B; SyncML 1.2 = A4 01).
  if (bytes[1] === PROV10_PUBLIC_ID) return accountFromCp(decodeCpWbxml(bytes));
  if (bytes[0] !== undefined && bytes[0] <= 0x03 && bytes[1] !== undefined && bytes[1] >= 0x80) {
    const { devId: target, account } = readDmBootstrap(bytes);
    if (target !== devId) throw new AppError('VALIDATION', `${path} is the bootstrap of device ${target.slice(0, 128)}, not ${devId}`);
    return account;
  }
  throw new AppError('VALIDATION', `${path} is neither a CP provisioning document (WBXML or XML) nor a DM bootstrap message in WBXML (use the .cp.wbxml, .cp.xml or .dm.wbxml file of the export)`);
}

/** The account in the device's tree, if it has one. */
export function treeAccount(values: Record<string, string>): DmAccount | undefined {
  return accountFromLeaves(values);
}

/** The DMAcc credential leaves of a tree (what a lost write loses). */
export function credentialLeaves(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter(([uri]) => /^\.\/DMAcc\/[^/]+\/AppAuth\//.test(uri)));
}
