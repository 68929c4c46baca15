// A live query follows interior nodes: when the device answers a Get with a node's list of
// children (Format node, "a/b/c"), the query reads those children too, as many levels as
// the preset asked (installed applications, DM accounts), in the same DM session. Runs in
// the DM message's transaction before the server plans its next commands, so the children
// go out in the reply to the very message that listed them. Credential nodes are skipped;
// a query reads at most MAX_QUERY_NODES nodes.
import { isSecretNode } from '../../omadm/helpdesk-presets.ts';
import { findQueryById, nodesForOperations, queryNodeCount } from '../../store/queries/helpdesk.ts';
import type { Tx } from '../../store/store.ts';
import { queueQueryGets } from './ask.ts';
import { MAX_QUERY_NODES, queryPathSchema } from './schemas.ts';

/** What the DM session learned of an operation in this message (client-commands.ts OperationUpdate). */
export interface AnsweredOperation {
  opId: string;
  state: string;
  result?: Array<{ uri: string; data: string; format?: string }>;
}

/** Queues Gets of the children of interior nodes live queries asked to follow; nothing to do (and no read) for any other answer. */
export async function queueQueryChildren(tx: Tx, deviceId: string, answered: AnsweredOperation[], now: number): Promise<void> {
  const lists = answered.filter((a) => a.state === 'done' && a.result?.some((r) => r.format === 'node'));
  if (lists.length === 0) return;
  const nodes = (await nodesForOperations(tx, lists.map((a) => a.opId))).filter((n) => n.depth > 0);
  for (const node of nodes) {
    const list = lists.find((a) => a.opId === node.opId)?.result?.find((r) => r.format === 'node');
    const query = await findQueryById(tx, node.queryId);
    // A query canceled (or expired) meanwhile reads nothing more (cancel.ts).
    if (!list || !query || query.canceledAt !== null) continue;
    const room = MAX_QUERY_NODES - (await queryNodeCount(tx, node.queryId));
    // The path asked, not the one the device names in its Results.
    const children = childPaths(node.uri, list.data).slice(0, Math.max(0, room));
    const planned = children.map((uri) => ({ uri, depth: node.depth - 1, source: node.source, position: node.position }));
    await queueQueryGets(tx, deviceId, node.queryId, query.createdBy, planned, now);
  }
}

/** The children a device listed, as paths a helpdesk may read (a hostile name is dropped, not followed). */
export function childPaths(parent: string, list: string): string[] {
  const names = [...new Set(list.split('/').map((n) => n.trim()).filter(Boolean))];
  return names.map((name) => `${parent.replace(/\/+$/, '')}/${name}`).filter((uri) => queryPathSchema.safeParse(uri).success && !isSecretNode(uri));
}
