// What the tests of both dialects' direct statements (src/store/queries/sqlite-direct.ts,
// pg-direct.ts) share: the rows they start from, and the check that a statement run
// directly gives the rows drizzle's own execute gives.
import { and, eq, sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { insertDevice, insertSession } from '../../src/store/queries/devices.ts';
import type { Store, Tx } from '../../src/store/store.ts';

/** Two devices, the first with an open session. */
export async function seedDirectRows(tx: Tx): Promise<void> {
  await insertDevice(tx, { id: 'dev-1', model: 'm', firmwareVersion: null, tags: '[]', createdAt: 1 });
  await insertDevice(tx, { id: 'dev-2', model: 'm', firmwareVersion: '2.0', tags: '["x"]', createdAt: 2 });
  await insertSession(tx, { id: 'dms_1', deviceId: 'dev-1', sessionId: '1', state: 'open', clientMsgId: 1, serverMsgId: 1, awaiting: '[]', pending: '[]', lastReply: null, lastReplyType: null, maxMsgSize: null, maxObjSize: 9, receivingObject: true, authNonce: null, serverAuthenticated: false, inventoryChecked: true, createdAt: 1, updatedAt: 1, expiresAt: 1 });
}

/** Flat rows decoded, nested ones with an absent left join as null, computed fields: as drizzle gives them. */
export async function expectRowsAsDrizzle(store: Store, direct: <T>(statement: T) => T): Promise<void> {
  await store.transaction(async ({ q, t: { devices, dmSessions } }) => {
    const flat = () => q.select().from(dmSessions).where(eq(dmSessions.deviceId, sql.placeholder('deviceId'))).prepare();
    expect(await direct(flat()).execute({ deviceId: 'dev-1' })).toEqual(await flat().execute({ deviceId: 'dev-1' }));
    expect((await direct(flat()).execute({ deviceId: 'dev-1' }))[0]).toMatchObject({ receivingObject: true, serverAuthenticated: false, maxMsgSize: null, maxObjSize: 9, createdAt: 1 });

    const joined = () => q.select({ device: devices, session: dmSessions }).from(devices).leftJoin(dmSessions, and(eq(dmSessions.deviceId, devices.id), eq(dmSessions.state, 'open'))).orderBy(devices.id).prepare();
    const rows = await direct(joined()).execute();
    expect(rows).toEqual(await joined().execute());
    expect(rows.map((r) => [r.device.id, r.session?.id ?? null])).toEqual([['dev-1', 'dms_1'], ['dev-2', null]]);

    // Tables nested beside single fields (the DM message's device lookup reads its footing so:
    // store/queries/devices.ts): mapped here, not handed back to drizzle.
    const mixed = () =>
      q
        .select({ device: devices, session: dmSessions, sessionState: dmSessions.state, n: sql<number>`length(${devices.tags})` })
        .from(devices)
        .leftJoin(dmSessions, and(eq(dmSessions.deviceId, devices.id), eq(dmSessions.state, 'open')))
        .orderBy(devices.id)
        .prepare();
    const mixedStatement = mixed();
    expect(direct(mixedStatement)).not.toBe(mixedStatement);
    const mixedRows = await direct(mixed()).execute();
    expect(mixedRows).toEqual(await mixed().execute());
    expect(mixedRows.map((r) => [r.device.id, r.session?.id ?? null, r.sessionState, r.n])).toEqual([['dev-1', 'dms_1', 'open', 2], ['dev-2', null, null, 5]]);

    const computed = () => q.select({ id: devices.id, n: sql<number>`length(${devices.tags})`, decoded: sql<number>`${devices.createdAt}`.mapWith((v: number) => v * 10) }).from(devices).orderBy(devices.id).prepare();
    expect(await direct(computed()).execute()).toEqual(await computed().execute());
    expect(await direct(computed()).execute()).toEqual([{ id: 'dev-1', n: 2, decoded: 10 }, { id: 'dev-2', n: 5, decoded: 20 }]);
  });
}
