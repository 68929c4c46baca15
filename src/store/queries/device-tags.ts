// A device's tags, read under a lock and written back: two operators tagging one device
// at once both keep their change (on PostgreSQL the second waits for the first's commit).
import { eq } from 'drizzle-orm';
import { forUpdate } from '../dialect.ts';
import type { Tx } from '../store.ts';

/** The device's tags as stored (a JSON array), or undefined when there is no such device. */
export async function lockedDeviceTags(tx: Tx, id: string): Promise<string | undefined> {
  const { devices } = tx.t;
  const [row] = await forUpdate(tx, tx.q.select({ tags: devices.tags }).from(devices).where(eq(devices.id, id)));
  return row?.tags;
}

/** Stores tags as JSON.stringify writes them: the cohort's tag test relies on that spelling. */
export async function setDeviceTags(tx: Tx, id: string, tags: string[]): Promise<void> {
  const { devices } = tx.t;
  await tx.q.update(devices).set({ tags: JSON.stringify(tags) }).where(eq(devices.id, id));
}
