// An application of a profile version to one device, as DM operations queued for its next
// session (dm_operations, which the session sends in order and whose Statuses and Results
// it records): for each operation, the Get of its node first when it asks for the old
// value (readFirst), then the operation itself; after all of them, a Get of every node
// written, so the values the device holds afterwards are read back. A drift check queues
// only the read-back Gets. Runs in the caller's transaction.
import { newId } from '../store/ids.ts';
import { insertOperation } from '../store/queries/devices.ts';
import { type ApplicationRow, insertApplication } from '../store/queries/profiles.ts';
import type { Tx } from '../store/store.ts';
import type { ProfileOperation } from './schemas.ts';

export interface QueuedCommand {
  command: 'Get' | 'Add' | 'Replace' | 'Delete' | 'Exec';
  uri: string;
  data?: string;
  format?: string;
  type?: string;
  /** What the command is for: the profile's own operation (judged), or a read (recorded). */
  role: 'operation' | 'readFirst' | 'readBack';
}

/** The DM commands an application sends, in order (pure: the tests read it). */
export function commandsOf(operations: ProfileOperation[], reason: ApplicationRow['reason']): QueuedCommand[] {
  const written = operations.filter((op) => op.command === 'Add' || op.command === 'Replace').map((op) => op.uri);
  const readBack = written.map((uri): QueuedCommand => ({ command: 'Get', uri, role: 'readBack' }));
  if (reason === 'drift') return readBack;
  const commands: QueuedCommand[] = [];
  for (const op of operations) {
    if (op.readFirst && op.command !== 'Exec') commands.push({ command: 'Get', uri: op.uri, role: 'readFirst' });
    commands.push({ command: op.command, uri: op.uri, ...(op.data === undefined ? {} : { data: op.data }), ...(op.format ? { format: op.format } : {}), ...(op.type ? { type: op.type } : {}), role: 'operation' });
  }
  return [...commands, ...readBack];
}

export interface NewApplication {
  deviceId: string;
  profileVersionId: string;
  operations: ProfileOperation[];
  reason: ApplicationRow['reason'];
  deploymentId?: string;
  /** Its operations wait for the device's user to accept (profiles/confirmation.ts). */
  gated?: boolean;
  createdBy: string;
  now: number;
}

/** Queues the application's commands and records it; returns its id. */
export async function queueApplication(tx: Tx, input: NewApplication): Promise<string> {
  const id = newId('pap');
  // One id base, a sequence after it: the session sends queued operations in (created_at, id) order.
  const base = newId('op');
  const commands = commandsOf(input.operations, input.reason);
  const operationIds: string[] = [];
  for (const [i, c] of commands.entries()) {
    const opId = `${base}.${String(i).padStart(3, '0')}.${c.role}`;
    operationIds.push(opId);
    await insertOperation(tx, {
      id: opId,
      deviceId: input.deviceId,
      command: c.command,
      uri: c.uri,
      data: c.data ?? null,
      format: c.format ?? null,
      type: c.type ?? null,
      correlator: null,
      state: 'queued',
      ...(input.gated ? { gateId: id } : {}),
      createdBy: input.createdBy,
      createdAt: input.now,
    });
  }
  await insertApplication(tx, {
    id,
    deviceId: input.deviceId,
    profileVersionId: input.profileVersionId,
    reason: input.reason,
    state: 'queued',
    deploymentId: input.deploymentId ?? null,
    operationIds: JSON.stringify(operationIds),
    createdBy: input.createdBy,
    createdAt: input.now,
  });
  return id;
}

/** What an operation id says about its role (queueApplication writes it into the id). */
export function roleOfOperation(opId: string): QueuedCommand['role'] {
  return opId.endsWith('.readFirst') ? 'readFirst' : opId.endsWith('.readBack') ? 'readBack' : 'operation';
}
