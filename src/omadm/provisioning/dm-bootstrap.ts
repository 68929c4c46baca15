// The DM profile of OMA DM bootstrap: a SyncML DM 1.2 message whose Add commands build the
// ./DMAcc/<x> subtree (application/vnd.syncml.dm+wbxml), written with the SyncML codec.
// A device (or a factory tool) applies it once, with no session and no reply: its header
// names the device as Target and the server as Source, and it carries no Cred.
import { CONTENT_TYPE_WBXML, type Command, type SyncMessage } from '../codec/message.ts';
import { decodeMessage, encodeMessage } from '../codec/syncml.ts';
import { AppError } from '../../errors.ts';
import { accountFromLeaves, accountNodes, type DmAccount } from './dm-account.ts';

export function dmBootstrapMessage(account: DmAccount, devId: string): SyncMessage {
  const commands: Command[] = accountNodes(account).map((node, i) => ({
    kind: 'Add',
    cmdId: i + 1,
    items: [{ target: node.uri, meta: { format: node.format, ...(node.format === 'chr' ? { type: 'text/plain' } : {}) }, ...(node.data === undefined ? {} : { data: node.data }) }],
  }));
  return {
    header: { verDTD: '1.2', verProto: 'DM/1.2', sessionId: '0', msgId: 1, target: devId, source: account.address },
    commands,
    final: true,
  };
}

export function encodeDmBootstrap(account: DmAccount, devId: string): Uint8Array {
  return encodeMessage(dmBootstrapMessage(account, devId), CONTENT_TYPE_WBXML);
}

/** The account a DM bootstrap message builds, and the device it names (its SyncHdr Target). */
export function readDmBootstrap(bytes: Uint8Array): { devId: string; account: DmAccount } {
  const message = decodeMessage(bytes, CONTENT_TYPE_WBXML, { maxBytes: 64 * 1024, maxDepth: 16, maxElements: 2_000 });
  const leaves = new Map<string, string>();
  for (const command of message.commands) {
    if (command.kind !== 'Add' && command.kind !== 'Replace') throw new AppError('VALIDATION', `a DM bootstrap holds only Add and Replace commands, not ${command.kind}`);
    for (const item of command.items) {
      if (!item.target) throw new AppError('VALIDATION', 'a DM bootstrap Add without a Target');
      if (item.target.split('/').includes('..')) throw new AppError('VALIDATION', `a DM bootstrap path with "..": ${item.target.slice(0, 128)}`);
      if (!item.target.startsWith('./DMAcc/')) throw new AppError('VALIDATION', `a DM bootstrap may only build ./DMAcc, not ${item.target.slice(0, 128)}`);
      if (item.data !== undefined) leaves.set(item.target, typeof item.data === 'string' ? item.data : new TextDecoder().decode(item.data));
    }
  }
  const account = accountFromLeaves(leaves);
  if (!account) throw new AppError('VALIDATION', 'the DM bootstrap builds no ./DMAcc/<x> with AppID w7 and a client credential');
  return { devId: message.header.target, account };
}
