// On PostgreSQL a prepared query runs as a named statement straight on node-postgres
// (src/store/queries/pg-direct.ts) instead of through drizzle's execute. What callers get
// must not change: the same rows (booleans and integers as the store returns them, nulls
// kept, a left-joined table absent as null), the same values stored, and the same failures
// (a missing placeholder, a broken constraint) as rejected promises. Each case runs the one
// drizzle statement both ways.
import { eq, sql } from 'drizzle-orm';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { rows } from '../../src/store/dialect.ts';
import { direct } from '../../src/store/queries/pg-direct.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import type { Store } from '../../src/store/store.ts';
import { createDatabase } from '../support/postgres.ts';
import { expectRowsAsDrizzle, seedDirectRows } from '../support/direct-statements.ts';

const serverUrl = inject('postgresUrl');

describe.skipIf(!serverUrl)('queries run as named statements on node-postgres', () => {
  const opened: Store[] = [];
  afterAll(async () => {
    for (const store of opened) await store.close();
  });
  async function openStore(): Promise<Store> {
    const store = await openPostgresStore(await createDatabase(serverUrl));
    opened.push(store);
    await store.transaction(async (tx) => {
      await seedDirectRows(tx);
    });
    return store;
  }

  it('give the rows drizzle gives: flat, decoded, and nested with an absent left join as null', async () => {
    const store = await openStore();
    await expectRowsAsDrizzle(store, direct);
  });

  it('run again on the same connection and on others, parsed once per connection', async () => {
    const store = await openStore();
    const byId = (tx: Pick<Store, 'q' | 't'>) => direct(tx.q.select({ id: tx.t.devices.id }).from(tx.t.devices).where(eq(tx.t.devices.id, sql.placeholder('id'))).prepare());
    // Outside a transaction the pool lends any connection: more calls at once than one connection serves.
    const onPool = byId(store);
    const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => onPool.execute({ id: i % 2 === 0 ? 'dev-1' : 'dev-2' })));
    expect(ids.map((r) => r[0]?.id)).toEqual(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? 'dev-1' : 'dev-2')));
    await store.transaction(async (tx) => {
      const statement = byId(tx);
      expect(await statement.execute({ id: 'dev-2' })).toEqual([{ id: 'dev-2' }]);
      expect(await statement.execute({ id: 'dev-1' })).toEqual([{ id: 'dev-1' }]);
      const prepared = await rows(tx, sql`SELECT name FROM pg_prepared_statements WHERE statement LIKE 'select "id" from "devices"%'`);
      expect(prepared).toHaveLength(1);
    });
  });

  it('store values through their columns encoders, and report the rows changed', async () => {
    const store = await openStore();
    await store.transaction(async ({ q, t: { dmSessions } }) => {
      const receiving = sql.placeholder('receiving') as unknown as boolean;
      const update = direct(q.update(dmSessions).set({ receivingObject: receiving }).where(eq(dmSessions.id, sql.placeholder('id'))).prepare());
      expect(await update.execute({ receiving: false, id: 'dms_1' })).toMatchObject({ rowCount: 1 });
      expect(await update.execute({ receiving: false, id: 'dms_none' })).toMatchObject({ rowCount: 0 });
      const [row] = await q.select({ receiving: dmSessions.receivingObject }).from(dmSessions);
      expect(row?.receiving).toBe(false);
    });
  });

  it('fail as rejected promises: a placeholder without a value, a broken constraint', async () => {
    const store = await openStore();
    const { q, t: { devices } } = store;
    const select = direct(q.select().from(devices).where(eq(devices.id, sql.placeholder('id'))).prepare());
    await expect(select.execute({})).rejects.toThrow('No value for placeholder "id" was provided');
    const insert = direct(q.insert(devices).values({ id: sql.placeholder('id'), model: 'm', tags: '[]', createdAt: 3 }).prepare());
    await expect(insert.execute({ id: 'dev-1' })).rejects.toThrow(/duplicate key/);
    // The failed statement's name stays usable.
    expect(await insert.execute({ id: 'dev-3' })).toMatchObject({ rowCount: 1 });
  });

  it('leave what they do not know to drizzle', async () => {
    const store = await openStore();
    const notDrizzle = { execute: () => Promise.resolve('as it was') };
    expect(direct(notDrizzle)).toBe(notDrizzle);
    const viaRelations = store.q.query.devices.findMany({ columns: { id: true } }).prepare();
    expect(direct(viaRelations)).toBe(viaRelations);
  });
});
