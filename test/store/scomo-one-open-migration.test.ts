// The migration that makes "one open SCOMO operation per component of a device" a unique
// index, on a database where races already broke the rule: migrated up to just before it
// with the committed migrations, given a component with three open operations (and closed
// ones, another component, another device), then opened as a server opens it. The component
// keeps the operation furthest along (commanded, the newest of those), the others are
// canceled with a history entry naming it, nothing else changes, and the index holds.
import { describe, expect, it } from 'vitest';
import { runSql, selectRows } from '../support/sql.ts';
import { openMigratedFromBefore } from '../support/migrate-before.ts';

/** [id, device, component, state, created_at]: dev-a's nav raced three times; the rest stays as it is. */
const ROWS: Array<[string, string, string, string, number]> = [
  ['sdp_a_old_commanded', 'dev-a', 'nav', 'commanded', 100],
  ['sdp_a_new_scheduled', 'dev-a', 'nav', 'scheduled', 300],
  ['sdp_a_newer_commanded', 'dev-a', 'nav', 'commanded', 200],
  ['sdp_a_done', 'dev-a', 'nav', 'succeeded', 50],
  ['sdp_a_notes', 'dev-a', 'notes', 'scheduled', 60],
  ['sdp_b_nav', 'dev-b', 'nav', 'scheduled', 400],
];
const INSERTS = [
  "INSERT INTO devices (id, model, tags, created_at) VALUES ('dev-a', 'm', '[]', 1), ('dev-b', 'm', '[]', 1)",
  `INSERT INTO scomo_deployments (id, device_id, component, operation, mode, node, state, reason, history, created_by, created_at, updated_at) VALUES ${ROWS.map(([id, device, component, state, at]) => `('${id}', '${device}', '${component}', 'remove', 'downloadInstall', 'n', '${state}', 'operator', '[{"at":"x","state":"${state}","cause":"test"}]', 'p', ${at}, ${at})`).join(', ')}`,
];

describe('the migration to one open SCOMO operation per component', () => {
  it('keeps the one furthest along of a component that had three, cancels the others naming it, and enforces the rule from then on', async () => {
    const store = await openMigratedFromBefore('scomo_one_open', INSERTS);
    const rows = await selectRows<{ id: string; state: string; history: string }>(store, 'SELECT id, state, history FROM scomo_deployments ORDER BY id');
    expect(rows.map((r) => [r.id, r.state])).toEqual([
      ['sdp_a_done', 'succeeded'],
      ['sdp_a_new_scheduled', 'canceled'],
      ['sdp_a_newer_commanded', 'commanded'],
      ['sdp_a_notes', 'scheduled'],
      ['sdp_a_old_commanded', 'canceled'],
      ['sdp_b_nav', 'scheduled'],
    ]);
    for (const id of ['sdp_a_new_scheduled', 'sdp_a_old_commanded']) {
      const history = JSON.parse(rows.find((r) => r.id === id)?.history ?? '') as Array<{ at: string; state: string; cause: string }>;
      expect(history).toHaveLength(2);
      expect(history[1]).toEqual({ at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), state: 'canceled', cause: 'another SCOMO operation on this component was open (sdp_a_newer_commanded); a component has one at a time' });
    }
    const insert = (id: string, component: string, state: string) => runSql(store, `INSERT INTO scomo_deployments (id, device_id, component, operation, mode, node, state, reason, history, created_by, created_at, updated_at) VALUES ('${id}', 'dev-b', '${component}', 'remove', 'downloadInstall', 'n', '${state}', 'operator', '[]', 'p', 1, 1)`);
    await expect(insert('sdp_b_second', 'nav', 'commanded')).rejects.toThrow();
    expect(await insert('sdp_b_finished', 'nav', 'failed')).toBe(1);
    expect(await insert('sdp_b_other', 'notes', 'scheduled')).toBe(1);
  });
});
