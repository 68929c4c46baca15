// The migration to people, on a database that has tokens and audit events from before:
// every such token becomes a person of its own (so nothing that worked stops working,
// and two tokens that share a name are two people), it still authenticates, and the
// audit log names the person and keeps the token. Runs on SQLite and, in the postgres
// project, on PostgreSQL: the database is migrated up to just before people with the
// committed migrations, filled, then opened as a server opens it.
import { describe, expect, it } from 'vitest';
import { hashToken } from '../../src/tokens/tokens.ts';
import { findCaller } from '../../src/store/queries/tokens.ts';
import { openMigratedFromBefore } from '../support/migrate-before.ts';
import { selectRows } from '../support/sql.ts';

const OLD_ROWS = [
  `INSERT INTO tokens (id, name, role, token_hash, created_by, created_at) VALUES ('tok_a', 'ops', 'operator', '${hashToken('fota_secret-of-the-first-ops-token')}', 'system', 1)`,
  `INSERT INTO tokens (id, name, role, token_hash, created_by, created_at) VALUES ('tok_b', 'ops', 'operator', '${hashToken('fota_secret-of-the-second-ops-token')}', 'system', 2)`,
  `INSERT INTO tokens (id, name, role, token_hash, created_by, created_at) VALUES ('tok_c', 'first admin', 'admin', '${hashToken('fota_secret-of-the-admin-token-000')}', 'system', 3)`,
  `INSERT INTO audit_events (id, at, actor, action, subject, details) VALUES ('evt_1', 10, 'tok_a', 'device.register', 'dev-1', '{}')`,
  `INSERT INTO audit_events (id, at, actor, action, subject, details) VALUES ('evt_2', 11, 'system', 'build.upload', 'bld_1', '{}')`,
];

describe('the migration to people', () => {
  it('gives every existing token a person of its own, keeps it working, and rewrites the audit actor', async () => {
    const db = await openMigratedFromBefore('people', OLD_ROWS);
    const people = await selectRows<{ id: string; login: string; display_name: string }>(db, 'SELECT id, login, display_name FROM people ORDER BY id');
    expect(people).toEqual([
      { id: 'psn_a', login: 'ops (tok_a)', display_name: 'ops' },
      { id: 'psn_b', login: 'ops (tok_b)', display_name: 'ops' },
      { id: 'psn_c', login: 'first admin', display_name: 'first admin' },
    ]);
    // Two tokens that shared a name are two people; each still authenticates as before.
    const first = await findCaller(db, hashToken('fota_secret-of-the-first-ops-token'));
    const second = await findCaller(db, hashToken('fota_secret-of-the-second-ops-token'));
    expect(first?.person.id).toBe('psn_a');
    expect(second?.person.id).toBe('psn_b');
    expect(first?.token.role).toBe('operator');
    expect((await findCaller(db, hashToken('fota_secret-of-the-admin-token-000')))?.token.role).toBe('admin');

    const events = await selectRows<{ id: string; actor: string; actor_name: string | null; token_id: string | null }>(db, 'SELECT id, actor, actor_name, token_id FROM audit_events ORDER BY id');
    expect(events).toEqual([
      { id: 'evt_1', actor: 'psn_a', actor_name: 'ops', token_id: 'tok_a' },
      { id: 'evt_2', actor: 'system', actor_name: null, token_id: null },
    ]);
  });
});
