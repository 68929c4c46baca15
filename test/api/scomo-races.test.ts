// One open SCOMO operation per component of a device, held by the database: two servers on
// one database (as in ../campaigns/races.test.ts), asked at the same moment to install a
// component on one device. Exactly one request makes the operation; the others get the 409
// that says the component is busy, never a 500 and never a second open operation.
import { beforeAll, describe, expect, it } from 'vitest';
import { pseudoRandom } from '../support/harness.ts';
import { sameDatabaseAs, startTestServer, type TestServer } from '../support/server.ts';
import { selectRows } from '../support/sql.ts';

const MODEL = 'scomo-race';
const COMPONENT = 'com.acme.race';
let a: TestServer;
let b: TestServer;

beforeAll(async () => {
  a = await startTestServer();
  b = await startTestServer({ dataDir: a.ctx.config.dataDir, artifactsDir: a.ctx.config.artifactsDir, ...sameDatabaseAs(a) });
  const query = `model=${MODEL}&component=${COMPONENT}&version=1.0`;
  const app = await a.api(`/api/v1/apps?${query}`, { method: 'POST', token: a.tokens.acme, headers: { 'content-type': 'application/octet-stream' }, body: pseudoRandom(20_000, 'scomo-race') });
  expect(app.status, await app.clone().text()).toBe(201);
  const device = await a.api('/api/v1/devices', { method: 'POST', token: a.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'scomo-race-1', model: MODEL, credentials: { username: 'scomo-race-1', password: 'device-password' } }) });
  expect(device.status, await device.clone().text()).toBe(201);
}, 120_000);

describe('one open SCOMO operation per component', () => {
  it('gives a component asked for by eight requests on two servers at once one operation: one 201, seven 409', async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => {
        const server = i % 2 === 0 ? a : b;
        return server.api('/api/v1/devices/scomo-race-1/apps', { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ operation: 'install', component: COMPONENT, version: '1.0' }) });
      }),
    );
    const bodies = await Promise.all(answers.map(async (res) => ({ status: res.status, body: (await res.json()) as { id?: string; error?: { code: string; message: string } } })));
    expect(bodies.filter((r) => r.status === 201 || r.status === 202)).toHaveLength(1);
    const refused = bodies.filter((r) => r.status === 409);
    expect(refused, JSON.stringify(bodies)).toHaveLength(7);
    for (const r of refused) expect(r.body.error).toMatchObject({ code: 'CONFLICT', message: expect.stringContaining(`SCOMO operation on ${COMPONENT} under way`) });
    const open = await selectRows<{ id: string }>(a.ctx.db, "SELECT id FROM scomo_deployments WHERE device_id = ? AND component = ? AND state IN ('scheduled', 'commanded')", 'scomo-race-1', COMPONENT);
    expect(open).toHaveLength(1);
    // Only the operation made was audited as scheduled.
    const audited = await selectRows<{ subject: string }>(a.ctx.db, "SELECT subject FROM audit_events WHERE action = 'scomo.schedule'");
    expect(audited.map((e) => e.subject)).toEqual(open.map((o) => o.id));
  });
});
