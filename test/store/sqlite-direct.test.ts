// On SQLite a prepared query runs straight on better-sqlite3 (src/store/queries/sqlite-direct.ts)
// instead of through drizzle's execute. What callers get must not change: the same rows
// (booleans decoded, nulls kept, a left-joined table absent as null), the same values
// stored (booleans encoded), and the same failures (a missing placeholder, a broken
// constraint) as rejected promises. Each case runs the one drizzle statement both ways.
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { describe, expect, it, onTestFinished } from 'vitest';
import { direct } from '../../src/store/queries/sqlite-direct.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/store.ts';
import { tempDir } from '../support/harness.ts';
import { expectRowsAsDrizzle, seedDirectRows } from '../support/direct-statements.ts';

async function openStore(): Promise<Store> {
  const store = openSqliteStore(join(tempDir(), 'data'));
  onTestFinished(() => store.close());
  await store.transaction(async (tx) => {
    await seedDirectRows(tx);
  });
  return store;
}

describe('queries run straight on better-sqlite3', () => {
  it('give the rows drizzle gives: flat, decoded, and nested with an absent left join as null', async () => {
    const store = await openStore();
    await expectRowsAsDrizzle(store, direct);
  });

  it('store values through their columns encoders, and report the rows changed', async () => {
    const store = await openStore();
    await store.transaction(async ({ q, t: { dmSessions } }) => {
      const receiving = sql.placeholder('receiving') as unknown as boolean;
      const update = direct(q.update(dmSessions).set({ receivingObject: receiving }).where(eq(dmSessions.id, sql.placeholder('id'))).prepare());
      expect(await update.execute({ receiving: false, id: 'dms_1' })).toMatchObject({ changes: 1 });
      expect(await update.execute({ receiving: false, id: 'dms_none' })).toMatchObject({ changes: 0 });
      const [row] = await q.select({ raw: sql<number>`${dmSessions.receivingObject}` }).from(dmSessions);
      expect(row?.raw).toBe(0);
    });
  });

  it('fail as rejected promises: a placeholder without a value, a broken constraint', async () => {
    const store = await openStore();
    await store.transaction(async ({ q, t: { devices } }) => {
      const select = direct(q.select().from(devices).where(eq(devices.id, sql.placeholder('id'))).prepare());
      await expect(select.execute({})).rejects.toThrow('No value for placeholder "id" was provided');
      const insert = direct(q.insert(devices).values({ id: sql.placeholder('id'), model: 'm', tags: '[]', createdAt: 3 }).prepare());
      await expect(insert.execute({ id: 'dev-1' })).rejects.toThrow(/UNIQUE/);
    });
  });

  it('leave what they do not know to drizzle', async () => {
    const store = await openStore();
    const notDrizzle = { execute: () => Promise.resolve('as it was') };
    expect(direct(notDrizzle)).toBe(notDrizzle);
    await store.transaction(async ({ q, t: { devices } }) => {
      const viaRelations = q.query.devices.findMany({ columns: { id: true } }).prepare();
      expect(direct(viaRelations)).toBe(viaRelations);
    });
  });
});
