// The SQLite store: migrated on open, WAL with foreign keys, transactions one at a time
// that commit or roll back with their callback's promise, reads outside them that cannot
// write, and a transaction's tx that cannot be used once it is over.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { describe, expect, it, onTestFinished } from 'vitest';
import { rows } from '../../src/store/dialect.ts';
import { recordAudit } from '../../src/store/queries/audit.ts';
import { findDevice, findDeviceAndSession, insertDevice, insertSession, type NamedDevice, updateDevice } from '../../src/store/queries/devices.ts';
import { DATABASE_FILE, openSqliteStore } from '../../src/store/sqlite.ts';
import { BatchRolledBack, type Store, type Tx } from '../../src/store/store.ts';
import { tempDir } from '../support/harness.ts';

/** A store in a temp dir, closed after the test (closing twice is harmless). */
function openStore(): Store {
  const store = openSqliteStore(join(tempDir(), 'data'));
  onTestFinished(() => store.close());
  return store;
}

const auditCount = async (tx: Tx) => (await rows<{ n: number }>(tx, sql`SELECT count(*) AS n FROM audit_events`))[0]?.n;
const entry = { actor: 'test', action: 'test', subject: 'test' };

describe('the SQLite store', () => {
  it('comes up migrated, in WAL mode, with foreign keys enforced, and reopens idempotently', async () => {
    const dir = join(tempDir(), 'data');
    const store = openSqliteStore(dir);
    onTestFinished(() => store.close());
    expect(await rows(store, sql`PRAGMA journal_mode`)).toEqual([{ journal_mode: 'wal' }]);
    expect(await rows(store, sql`PRAGMA busy_timeout`)).toEqual([{ timeout: 5000 }]);
    const tables = (await rows<{ name: string }>(store, sql`select name from sqlite_master where type = 'table'`)).map((t) => t.name);
    expect(tables).toEqual(expect.arrayContaining(['manufacturers', 'models', 'signing_keys', 'builds', 'packages', 'jobs', 'devices', 'deployments', 'tokens', 'audit_events']));
    await store.transaction(async (tx) => expect(await rows(tx, sql`PRAGMA foreign_keys`)).toEqual([{ foreign_keys: 1 }]));
    await expect(store.transaction((tx) => tx.q.insert(tx.t.models).values({ id: 'm', manufacturerId: 'no-such-manufacturer', name: 'x', createdAt: 0 }))).rejects.toThrow(/FOREIGN KEY/);
    await store.close();
    await openSqliteStore(dir).close();
  });

  it('commits a transaction when its callback resolves and rolls it back when it rejects', async () => {
    const store = openStore();
    await store.transaction((tx) => recordAudit(tx, entry, 0));
    await expect(
      store.transaction(async (tx) => {
        await recordAudit(tx, entry, 1);
        // Raw SQL given the tx runs inside the transaction: it sees the write.
        expect(await auditCount(tx)).toBe(2);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await auditCount(store)).toBe(1);
  });

  it('refuses a write outside a transaction: reads there go to a read-only connection', async () => {
    const store = openStore();
    await expect(recordAudit(store, entry, 0)).rejects.toThrow(/readonly/);
    expect(await auditCount(store)).toBe(0);
  });

  it('runs transactions one at a time, in the order they asked, and reads outside see only commits', async () => {
    const store = openStore();
    const order: string[] = [];
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = store.transaction(async (tx) => {
      order.push('first begins');
      await recordAudit(tx, entry, 0);
      await held;
      order.push('first ends');
    });
    const second = store.transaction(async (tx) => {
      order.push('second begins');
      await recordAudit(tx, entry, 1);
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(order).toEqual(['first begins']);
    expect(await auditCount(store)).toBe(0);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first begins', 'first ends', 'second begins']);
    expect(await auditCount(store)).toBe(2);
  });

  it('gives a prepared read outside a transaction only what is committed, also while a transaction holds the writer', async () => {
    // Such reads run on the write connection while it is idle (its page cache is warm).
    const store = openStore();
    await store.transaction((tx) => insertDevice(tx, { id: 'dev-1', model: 'X100', firmwareVersion: '1.0.0', createdAt: 0 }));
    expect((await findDevice(store, 'dev-1'))?.firmwareVersion).toBe('1.0.0');
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const running = store.transaction(async (tx) => {
      await updateDevice(tx, 'dev-1', { firmwareVersion: '2.0.0' });
      await insertDevice(tx, { id: 'dev-2', model: 'X100', firmwareVersion: '1.0.0', createdAt: 0 });
      await held;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await findDevice(store, 'dev-1'))?.firmwareVersion).toBe('1.0.0');
    expect(await findDevice(store, 'dev-2')).toBeUndefined();
    release();
    await running;
    expect((await findDevice(store, 'dev-1'))?.firmwareVersion).toBe('2.0.0');
    expect(await findDevice(store, 'dev-2')).toBeDefined();
  });

  it('commits the grouped transactions of one turn together; one that fails rolls the batch back, and the others done in it reject with BatchRolledBack to run again', async () => {
    // Group commit (sqlite.ts): they share a COMMIT, without a SAVEPOINT each.
    const store = openStore();
    const grouped = { grouped: true };
    const outcomes = await Promise.allSettled([
      store.transaction((tx) => recordAudit(tx, { ...entry, action: 'first' }, 0), grouped),
      store.transaction(async (tx) => {
        await recordAudit(tx, { ...entry, action: 'failed' }, 1);
        throw new Error('roll back this one');
      }, grouped),
      store.transaction((tx) => recordAudit(tx, { ...entry, action: 'third' }, 2), grouped),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
    const [first, failed] = outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error) : undefined));
    expect(first).toBeInstanceOf(BatchRolledBack);
    expect((first?.cause as Error).message).toBe('roll back this one');
    expect(failed?.message).toBe('roll back this one');
    expect(failed).not.toBeInstanceOf(BatchRolledBack);
    // Nothing of the first was stored; run again, as its caller does, it is.
    expect((await rows<{ action: string }>(store, sql`SELECT action FROM audit_events ORDER BY at`)).map((a) => a.action)).toEqual(['third']);
    await store.transaction((tx) => recordAudit(tx, { ...entry, action: 'first' }, 0), grouped);
    const actions = await rows<{ action: string }>(store, sql`SELECT action FROM audit_events ORDER BY at`);
    expect(actions.map((a) => a.action)).toEqual(['first', 'third']);
  });

  it('rolls back only itself when the first grouped transaction of a batch fails, and runs a later batch after it', async () => {
    const store = openStore();
    const grouped = { grouped: true };
    const outcomes = await Promise.allSettled([
      store.transaction(async (tx) => {
        await recordAudit(tx, { ...entry, action: 'failed first' }, 0);
        throw new Error('roll back this one');
      }, grouped),
      // The first of the next batch: the failure after it rolls it back too.
      store.transaction((tx) => recordAudit(tx, { ...entry, action: 'second' }, 1), grouped),
      store.transaction(async (tx) => {
        await recordAudit(tx, { ...entry, action: 'failed third' }, 2);
        throw new Error('and this one');
      }, grouped),
      store.transaction((tx) => recordAudit(tx, { ...entry, action: 'fourth' }, 3), grouped),
    ]);
    expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error).name : 'committed'))).toEqual(['Error', 'BatchRolledBack', 'Error', 'committed']);
    await store.transaction((tx) => recordAudit(tx, { ...entry, action: 'alone' }, 4));
    await expect(
      store.transaction(async (tx) => {
        await recordAudit(tx, { ...entry, action: 'failed alone' }, 5);
        throw new Error('not grouped either');
      }),
    ).rejects.toThrow(/not grouped/);
    await store.transaction((tx) => recordAudit(tx, { ...entry, action: 'next batch' }, 6), grouped);
    const actions = await rows<{ action: string }>(store, sql`SELECT action FROM audit_events ORDER BY at`);
    expect(actions.map((a) => a.action)).toEqual(['fourth', 'alone', 'next batch']);
  });

  it('gives a device\'s reads only what is committed of it while grouped transactions wait for their COMMIT, its own message\'s writes included', async () => {
    // While a batch waits for its COMMIT, a device's reads may run on the writer, which
    // holds the batch's writes: only while none of them is that device's. A retransmitted
    // message must not find the session and reply its first copy stored before they are
    // committed (answered from them, it could outrun a COMMIT that then fails).
    const store = openStore();
    await store.transaction(async (tx) => {
      await insertDevice(tx, { id: 'dev-sent', model: 'X100', firmwareVersion: '1.0.0', createdAt: 0 });
      await insertDevice(tx, { id: 'dev-other', model: 'X100', firmwareVersion: '1.0.0', createdAt: 0 });
    });
    const session = { id: 'dms_sent', deviceId: 'dev-sent', sessionId: '7', state: 'open', clientMsgId: 1, serverMsgId: 1, lastReply: 'reply', createdAt: 0, updatedAt: 0, expiresAt: 1e12 } as const;
    // Queued before the batch's COMMIT (scheduled once the transaction's callback is done),
    // so it runs while the batch is written and waits, the writer free.
    const seen = new Promise<{ committed: boolean; onWriter: boolean; device?: string | null; named?: NamedDevice; enrolled?: NamedDevice; other?: string | null }>((resolve) => {
      setImmediate(() => {
        void (async () => {
          const onWriter = store.readsOf?.('dev-other') !== store.q;
          const device = (await findDevice(store, 'dev-sent'))?.firmwareVersion;
          const named = await findDeviceAndSession(store, 'dev-sent', { sessionId: '7' });
          const enrolled = await findDeviceAndSession(store, 'dev-sent', { sessionId: '7' }, { withEnrollment: true });
          const other = (await findDevice(store, 'dev-other'))?.firmwareVersion;
          resolve({ committed, onWriter, device, named, enrolled, other });
        })();
      });
    });
    let committed = false;
    const message = store.transaction(async (tx) => {
      await updateDevice(tx, 'dev-sent', { firmwareVersion: '2.0.0' });
      await insertSession(tx, session);
    }, { grouped: true, device: 'dev-sent' }).then(() => {
      committed = true;
    });
    const during = await seen;
    await message;
    // The window was the one meant: uncommitted, and another device's reads on the writer.
    expect(during.committed).toBe(false);
    expect(during.onWriter).toBe(true);
    expect(during.device).toBe('1.0.0');
    expect(during.named).toMatchObject({ device: { firmwareVersion: '1.0.0' }, session: undefined });
    expect(during.enrolled).toMatchObject({ device: { firmwareVersion: '1.0.0' }, session: undefined });
    expect(during.other).toBe('1.0.0');
    expect(await findDeviceAndSession(store, 'dev-sent', { sessionId: '7' })).toMatchObject({ device: { firmwareVersion: '2.0.0' }, session: { id: 'dms_sent', lastReply: 'reply' } });
  });

  it('sends no device\'s reads to the writer while a grouped transaction that did not name its device waits for its COMMIT', async () => {
    const store = openStore();
    await store.transaction((tx) => insertDevice(tx, { id: 'dev-1', model: 'X100', firmwareVersion: '1.0.0', createdAt: 0 }));
    const seen = new Promise<{ onWriter: boolean; device?: string | null }>((resolve) => {
      setImmediate(() => {
        void (async () => {
          const onWriter = store.readsOf?.('dev-1') !== store.q;
          resolve({ onWriter, device: (await findDevice(store, 'dev-1'))?.firmwareVersion });
        })();
      });
    });
    const unnamed = store.transaction((tx) => updateDevice(tx, 'dev-1', { firmwareVersion: '2.0.0' }), { grouped: true });
    const during = await seen;
    await unnamed;
    expect(during).toEqual({ onWriter: false, device: '1.0.0' });
    expect((await findDevice(store, 'dev-1'))?.firmwareVersion).toBe('2.0.0');
  });

  it('commits the grouped transactions waiting for their COMMIT before one that is not grouped begins', async () => {
    const store = openStore();
    const grouped = store.transaction((tx) => recordAudit(tx, entry, 0), { grouped: true });
    let seenOutside: number | undefined;
    await store.transaction(async (tx) => {
      // A read outside the transaction sees only what is committed: the grouped one is.
      seenOutside = await auditCount(store);
      await recordAudit(tx, entry, 1);
    });
    await grouped;
    expect(seenOutside).toBe(1);
    expect(await auditCount(store)).toBe(2);
  });

  it('commits every one of more grouped transactions at once than one COMMIT takes, and reads outside see them once awaited', async () => {
    const dir = join(tempDir(), 'data');
    const store = openSqliteStore(dir);
    onTestFinished(() => store.close());
    const many = Array.from({ length: 150 }, (_, i) => store.transaction((tx) => recordAudit(tx, entry, i), { grouped: true }));
    await Promise.all(many);
    expect(await auditCount(store)).toBe(150);
    await store.close();
    // Committed, not only visible: the file has them after the store is closed.
    const reopened = openSqliteStore(dir);
    onTestFinished(() => reopened.close());
    expect(await auditCount(reopened)).toBe(150);
  });

  it('copies the WAL into the database file on a thread of its own every so many commits, and closes that thread with the store', async () => {
    const dir = join(tempDir(), 'data');
    let checkpointed: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      checkpointed = resolve;
    });
    const store = openSqliteStore(dir, { checkpointEvery: 10, onCheckpoint: () => checkpointed() });
    onTestFinished(() => store.close());
    const file = join(dir, DATABASE_FILE);
    const before = statSync(file).size;
    // ~125 pages: far below the writer's own autocheckpoint, so only the thread copies them.
    for (let i = 0; i < 10; i++) await store.transaction((tx) => recordAudit(tx, { ...entry, details: { pad: 'x'.repeat(50_000) } }, i));
    await done;
    expect(statSync(file).size).toBeGreaterThan(before + 400_000);
    await store.close();
    const reopened = openSqliteStore(dir);
    onTestFinished(() => reopened.close());
    expect(await auditCount(reopened)).toBe(10);
  });

  it('copies a bulk transaction\'s pages into the database file right after its commit, not a hundred commits later', async () => {
    const dir = join(tempDir(), 'data');
    let checkpointed: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      checkpointed = resolve;
    });
    const store = openSqliteStore(dir, { onCheckpoint: () => checkpointed() });
    onTestFinished(() => store.close());
    const file = join(dir, DATABASE_FILE);
    const before = statSync(file).size;
    // One commit of ~125 pages: far below the default 100 commits between checkpoints, and
    // below the writer's own autocheckpoint, so only the bulk request copies them.
    await store.transaction(async (tx) => {
      for (let i = 0; i < 10; i++) await recordAudit(tx, { ...entry, details: { pad: 'x'.repeat(50_000) } }, i);
    }, { bulk: true });
    await done;
    expect(statSync(file).size).toBeGreaterThan(before + 400_000);
  });

  it('refuses a query through a transaction that is over (a promise its callback did not await)', async () => {
    const store = openStore();
    let leaked: Tx | undefined;
    await store.transaction(async (tx) => {
      leaked = tx;
    });
    if (!leaked) throw new Error('the callback did not run');
    const over = leaked;
    expect(() => over.q).toThrow(/this transaction has ended/);
  });

  it('closes after the transaction under way has finished', async () => {
    const store = openStore();
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const running = store.transaction(async (tx) => {
      await held;
      await recordAudit(tx, entry, 0);
    });
    const closed = store.close();
    release();
    await running;
    await closed;
    await expect(store.ping()).rejects.toThrow(/not open/);
  });
});
