// The migration that makes "one deployment under way per device" a unique index, on a
// database where races already broke the rule: the database is migrated up to just before
// it with the committed migrations, given a device with three deployments under way (and
// finished ones, and a device with one), then opened as a server opens it. The device keeps
// the deployment furthest along (the newest of those), the others are canceled with a
// history entry naming it, nothing else changes, and the index holds from then on.
import { describe, expect, it } from 'vitest';
import { runSql, selectRows } from '../support/sql.ts';
import { openMigratedFromBefore } from '../support/migrate-before.ts';

/** [id, device, state, created_at]: dev-a raced three times; its finished ones and dev-b stay as they are. */
const ROWS: Array<[string, string, string, number]> = [
  ['dep_a_old_commanded', 'dev-a', 'commanded', 100],
  ['dep_a_new_scheduled', 'dev-a', 'scheduled', 300],
  ['dep_a_newer_commanded', 'dev-a', 'commanded', 200],
  ['dep_a_done', 'dev-a', 'succeeded', 50],
  ['dep_a_failed', 'dev-a', 'failed', 60],
  ['dep_b', 'dev-b', 'downloading', 400],
];
const INSERTS = [
  "INSERT INTO devices (id, model, tags, created_at) VALUES ('dev-a', 'm', '[]', 1), ('dev-b', 'm', '[]', 1)",
  `INSERT INTO deployments (id, device_id, state, history, created_at, updated_at) VALUES ${ROWS.map(([id, device, state, at]) => `('${id}', '${device}', '${state}', '[{"at":"x","state":"${state}","cause":"test"}]', ${at}, ${at})`).join(', ')}`,
];

describe('the migration to one deployment under way per device', () => {
  it('keeps the one furthest along of a device that had three, cancels the others naming it, and enforces the rule from then on', async () => {
    const store = await openMigratedFromBefore('one_active_deployment', INSERTS);
    const rows = await selectRows<{ id: string; state: string; history: string }>(store, 'SELECT id, state, history FROM deployments ORDER BY id');
    expect(rows.map((r) => [r.id, r.state])).toEqual([
      ['dep_a_done', 'succeeded'],
      ['dep_a_failed', 'failed'],
      // Both commanded (the device may be working on either): the newer one is kept.
      ['dep_a_new_scheduled', 'canceled'],
      ['dep_a_newer_commanded', 'commanded'],
      ['dep_a_old_commanded', 'canceled'],
      ['dep_b', 'downloading'],
    ]);
    for (const id of ['dep_a_new_scheduled', 'dep_a_old_commanded']) {
      const history = JSON.parse(rows.find((r) => r.id === id)?.history ?? '') as Array<{ at: string; state: string; cause: string }>;
      expect(history).toHaveLength(2);
      expect(history[1]).toEqual({ at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), state: 'canceled', cause: 'another deployment of this device was under way (dep_a_newer_commanded); a device has one at a time' });
    }
    await expect(runSql(store, "INSERT INTO deployments (id, device_id, state, created_at, updated_at) VALUES ('dep_b_second', 'dev-b', 'pending', 1, 1)")).rejects.toThrow();
    expect(await runSql(store, "INSERT INTO deployments (id, device_id, state, created_at, updated_at) VALUES ('dep_b_finished', 'dev-b', 'canceled', 1, 1)")).toBe(1);
  });
});
