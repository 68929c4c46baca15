// What a DM session remembers between messages (kept in the database as JSON): the
// server commands awaiting the device's Status, and those not yet sent because the last
// message was full.
import { z } from 'zod';

const serverCommand = z.object({
  kind: z.enum(['Get', 'Replace', 'Exec', 'Add', 'Delete']),
  uri: z.string(),
  data: z.string().optional(),
  format: z.string().optional(),
  type: z.string().optional(),
  correlator: z.string().optional(),
  /** The operator's operation this command carries out, if any. */
  opId: z.string().optional(),
  /** The deployment a FUMO command delivers, if any. */
  deploymentId: z.string().optional(),
  /** The package a FUMO command delivers, chosen when it was planned (recorded on the deployment as it is sent). */
  packageId: z.string().optional(),
  /** Why the server sends it: an operator's operation, its own inventory read, or FUMO. */
  purpose: z.enum(['operation', 'inventory', 'fumo']),
});
export type ServerCommand = z.infer<typeof serverCommand>;

const awaited = serverCommand.extend({ msgId: z.number().int(), cmdId: z.number().int(), resultsSeen: z.boolean().optional() });
export type AwaitedCommand = z.infer<typeof awaited>;

export const awaitingSchema = z.array(awaited);
export const pendingSchema = z.array(serverCommand);

/** DevDetail nodes the server keeps fresh in the inventory. */
export const INVENTORY_NODES = ['./DevDetail/FwV', './DevDetail/SwV', './DevDetail/HwV'] as const;
