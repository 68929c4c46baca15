// Writes that insert a row the first time and replace it afterwards, raced by two servers on
// one database (each its own store and connections, real HTTP to each, as in
// test/campaigns/races.test.ts): every writer succeeds, and one row results. Before they
// were single statements (insert ... on conflict), two writers on PostgreSQL could both
// find no row and the second insert failed on the key: a 409 (or 500) for a request that
// had every right to succeed. On SQLite the servers take turns at the file's write lock.
import { beforeAll, describe, expect, it } from 'vitest';
import { findDeviceApps, saveDeviceApps } from '../../src/store/queries/scomo.ts';
import { pseudoRandom } from '../support/harness.ts';
import { sameDatabaseAs, startTestServer, type TestServer } from '../support/server.ts';
import { selectRows } from '../support/sql.ts';

const MODEL = 'upsert-race';
let a: TestServer;
let b: TestServer;
const WRITERS = 8;

beforeAll(async () => {
  a = await startTestServer();
  b = await startTestServer({ dataDir: a.ctx.config.dataDir, artifactsDir: a.ctx.config.artifactsDir, ...sameDatabaseAs(a) });
  expect((await a.upload(MODEL, '1.0', pseudoRandom(4_000, 'upsert-race'))).status).toBe('ready');
}, 120_000);

/** Request `i` goes to server A (even) or B (odd), with that server's token of the role. */
function send(i: number, method: string, path: string, role: 'admin' | 'operator', body: unknown): Promise<Response> {
  const server = i % 2 === 0 ? a : b;
  return server.api(path, { method, token: server.tokens[role], headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function statuses(answers: Response[]): Promise<Array<{ status: number; body: string }>> {
  return Promise.all(answers.map(async (res) => ({ status: res.status, body: await res.text() })));
}

describe('first writes raced by two servers', () => {
  it('creates a new manufacturer once when eight requests for its first tokens arrive at once: eight tokens, one manufacturer', async () => {
    const answers = await statuses(await Promise.all(Array.from({ length: WRITERS }, (_, i) => send(i, 'POST', '/api/v1/tokens', 'admin', { role: 'manufacturer', name: `race token ${i}`, manufacturer: 'race-co' }))));
    expect(answers.map((r) => r.status), JSON.stringify(answers)).toEqual(Array.from({ length: WRITERS }, () => 201));
    const makers = await selectRows<{ id: string }>(a.ctx.db, 'SELECT id FROM manufacturers WHERE name = ?', 'race-co');
    expect(makers).toHaveLength(1);
    const scoped = await selectRows<{ manufacturer_id: string }>(a.ctx.db, "SELECT manufacturer_id FROM tokens WHERE name LIKE 'race token %'");
    expect(scoped.map((t) => t.manufacturer_id)).toEqual(Array.from({ length: WRITERS }, () => makers[0]?.id));
  });

  it("saves a model's first baseline from eight requests at once: eight 200, one baseline, the last one's", async () => {
    const answers = await statuses(await Promise.all(Array.from({ length: WRITERS }, (_, i) => send(i, 'PUT', `/api/v1/baselines/${MODEL}`, 'operator', { apps: [], forbidden: [`com.example.race${i}`] }))));
    expect(answers.map((r) => r.status), JSON.stringify(answers)).toEqual(Array.from({ length: WRITERS }, () => 200));
    const rows = await selectRows<{ spec: string }>(a.ctx.db, 'SELECT spec FROM app_baselines WHERE model = ?', MODEL);
    expect(rows).toHaveLength(1);
    const forbidden = (JSON.parse(rows[0]?.spec ?? '{}') as { forbidden: string[] }).forbidden;
    expect(Array.from({ length: WRITERS }, (_, i) => [`com.example.race${i}`])).toContainEqual(forbidden);
    const shown = await a.api(`/api/v1/baselines/${MODEL}`, { token: a.tokens.operator });
    expect(((await shown.json()) as { forbidden: string[] }).forbidden).toEqual(forbidden);
  });

  it('creates a new model once when eight first builds of it are uploaded at once: eight 202, one model', async () => {
    const model = 'upsert-race-new-model';
    const answers = await statuses(
      await Promise.all(
        Array.from({ length: WRITERS }, (_, i) => {
          const server = i % 2 === 0 ? a : b;
          return server.api(`/api/v1/builds?model=${model}&version=1.${i}`, { method: 'POST', token: server.tokens.acme, body: pseudoRandom(2_000, `new-model-${i}`) });
        }),
      ),
    );
    expect(answers.map((r) => r.status), JSON.stringify(answers)).toEqual(Array.from({ length: WRITERS }, () => 202));
    expect(await selectRows(a.ctx.db, 'SELECT id FROM models WHERE name = ?', model)).toHaveLength(1);
    expect(await selectRows(a.ctx.db, 'SELECT b.id FROM builds b JOIN models m ON m.id = b.model_id WHERE m.name = ?', model)).toHaveLength(WRITERS);
  });

  it("stores a device's first application inventory written by eight transactions on the two stores at once", async () => {
    const deviceId = 'upsert-race-device';
    await a.ctx.db.transaction(async (tx) => {
      await tx.q.insert(tx.t.devices).values({ id: deviceId, model: MODEL, firmwareVersion: '1.0', tags: '[]', createdAt: 0 });
    });
    // Both stores on PostgreSQL. On SQLite, two stores in one process would wait for each
    // other's write lock on one thread (SQLITE_BUSY, a test artifact: two processes take
    // turns); there one store's transactions queue, as one server's sessions do.
    const stores = a.ctx.config.databaseUrl ? [a, b] : [a];
    const outcomes = await Promise.allSettled(
      Array.from({ length: WRITERS }, (_, i) => (stores[i % stores.length] ?? a).ctx.db.transaction((tx) => saveDeviceApps(tx, { deviceId, components: JSON.stringify({ nodes: [], readAt: i + 1 }), readAt: i + 1 }))),
    );
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    const saved = await findDeviceApps(a.ctx.db, deviceId);
    expect(saved?.readAt).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(saved?.components ?? '{}')).toEqual({ nodes: [], readAt: saved?.readAt });
    expect(await selectRows(a.ctx.db, 'SELECT device_id FROM device_apps WHERE device_id = ?', deviceId)).toHaveLength(1);
  });
});
