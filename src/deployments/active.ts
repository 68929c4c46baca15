// The device's deployment under way, as one DM message sees it. Several hooks of a message
// ask for it (profiles, application campaigns and FUMO planning; FUMO's confirmation by
// FwV and the application campaign's settling): it is read once, in the message's
// transaction, and read again only after a deployment write of that transaction
// (store/queries/write-counts.ts), so each hook still sees what the one before
// it did. Read locked (FOR UPDATE on PostgreSQL; SQLite's transaction holds the write lock
// anyway): most of its readers move it on what they read, and the others decide the
// message's commands from it. Create one per transaction attempt, never keep it longer.
import { activeDeploymentOf, type DeploymentRow } from '../store/queries/deployments.ts';
import { type Footing, holds } from '../store/queries/footing.ts';
import { writesOf } from '../store/queries/write-counts.ts';
import type { Tx } from '../store/store.ts';

export class ActiveDeployment {
  private row: DeploymentRow | undefined;
  /** The transaction's deployment write count when `row` was read; undefined: not read yet. */
  private readAt: number | undefined;

  /** `footing`: the message's footing (store/queries/footing.ts); a device it shows with none is not read again while it holds. */
  constructor(
    private readonly tx: Tx,
    readonly deviceId: string,
    footing?: Footing,
  ) {
    if (holds(tx, footing, 'deployments') && !footing.hasActiveDeployment) this.readAt = footing.writes.deployments;
  }

  async read(): Promise<DeploymentRow | undefined> {
    const writes = writesOf(this.tx, 'deployments');
    if (this.readAt !== writes) {
      this.row = await activeDeploymentOf(this.tx, this.deviceId, { forUpdate: true });
      this.readAt = writes;
    }
    return this.row;
  }
}

/** The message's read when the caller passes one (of this device, in this transaction), else a read of its own. */
export const activeDeploymentIn = (tx: Tx, deviceId: string, active: ActiveDeployment | undefined): Promise<DeploymentRow | undefined> =>
  active && active.deviceId === deviceId ? active.read() : activeDeploymentOf(tx, deviceId, { forUpdate: true });
