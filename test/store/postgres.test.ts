// The PostgreSQL store against a real server (the `postgres` test project starts one):
// migrations apply (also from several processes at once), values come back as the
// SQLite store returns them, transactions commit and roll back, a connection lost in the
// middle of a transaction fails that transaction only, and a bad URL is refused with a
// message that names the server but not the password.
import { eq, sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { rows } from '../../src/store/dialect.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import type { Store } from '../../src/store/store.ts';
import { createDatabase } from '../support/postgres.ts';

const serverUrl = inject('postgresUrl');

describe.skipIf(!serverUrl)('the PostgreSQL store', () => {
  const opened: Store[] = [];
  afterAll(async () => {
    for (const store of opened) await store.close();
  });
  const open = async (url: string) => {
    const store = await openPostgresStore(url);
    opened.push(store);
    return store;
  };

  it('applies the migrations once when several processes start together', async () => {
    const url = await createDatabase(serverUrl);
    const stores = await Promise.all([open(url), open(url), open(url)]);
    await stores[0]!.ping();
    const tables = await stores[1]!.q.select().from(stores[1]!.t.manufacturers);
    expect(tables).toEqual([]);
  });

  it('returns integers as numbers and booleans as booleans, as SQLite does', async () => {
    const store = await open(await createDatabase(serverUrl));
    const { manufacturers, campaigns } = store.t;
    const at = 1_796_000_000_123;
    await store.transaction(async (tx) => {
      await tx.q.insert(tx.t.manufacturers).values({ id: 'm1', name: 'acme', createdAt: at });
    });
    const [row] = await store.q.select().from(manufacturers).where(eq(manufacturers.id, 'm1'));
    expect(row).toEqual({ id: 'm1', name: 'acme', createdAt: at });
    expect(campaigns).toBeDefined();
  });

  it('rolls a transaction back when its callback rejects, and commits otherwise', async () => {
    const store = await open(await createDatabase(serverUrl));
    const { manufacturers } = store.t;
    await expect(
      store.transaction(async (tx) => {
        await tx.q.insert(tx.t.manufacturers).values({ id: 'gone', name: 'x', createdAt: 1 });
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    await store.transaction(async (tx) => {
      await tx.q.insert(tx.t.manufacturers).values({ id: 'kept', name: 'y', createdAt: 2 });
    });
    const ids = (await store.q.select().from(manufacturers)).map((m) => m.id);
    expect(ids).toEqual(['kept']);
  });

  it('fails only the transaction whose connection is lost (PostgreSQL restarted, backend terminated), and works on', async () => {
    const url = await createDatabase(serverUrl);
    const store = await open(url);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      // Unhandled, the dead connection's 'error' event would end the process (vitest reports it as an unhandled error).
      await expect(
        store.transaction(async (tx) => {
          const [backend] = await rows<{ pid: number }>(tx, sql`select pg_backend_pid() as pid`);
          await admin.query('select pg_terminate_backend($1)', [backend?.pid]);
          await rows(tx, sql`select pg_sleep(0.2)`);
        }),
        // The failure says why: the statement that met the dead connection, not the rollback after it.
      ).rejects.toThrow(/pg_sleep/);
      expect(await rows<{ one: number }>(store, sql`select 1 as one`)).toEqual([{ one: 1 }]);
    } finally {
      await admin.end();
    }
  });

  it('refuses an unreachable server with the URL but not its password', async () => {
    const url = new URL(serverUrl);
    url.port = '1';
    url.password = 'hunter2';
    const error = await openPostgresStore(url.toString()).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(error?.message).toMatch(/cannot open the PostgreSQL database postgres:\/\/fota:\*\*\*@127\.0\.0\.1:1\//);
    expect(error?.message).not.toContain('hunter2');
  });
});
