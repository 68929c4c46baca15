import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/db.ts';
import { tempDir } from '../support/harness.ts';

describe('the database', () => {
  it('comes up migrated, in WAL mode, with foreign keys enforced, and reopens idempotently', () => {
    const dir = join(tempDir(), 'data');
    const db = openDatabase(dir);
    const sqlite = db.$client;
    expect(sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(sqlite.pragma('busy_timeout', { simple: true })).toBe(5000);
    const tables = (sqlite.prepare("select name from sqlite_master where type = 'table'").all() as Array<{ name: string }>).map((t) => t.name);
    expect(tables).toEqual(expect.arrayContaining(['manufacturers', 'models', 'signing_keys', 'builds', 'packages', 'jobs', 'devices', 'deployments', 'tokens', 'audit_events']));
    expect(() => sqlite.prepare("insert into models (id, manufacturer_id, name, created_at) values ('m', 'no-such-manufacturer', 'x', 0)").run()).toThrow(/FOREIGN KEY/);
    sqlite.close();
    openDatabase(dir).$client.close();
  });
});
