// A DM message that fails inside its transaction, beside other devices' messages, on both
// stores. On SQLite the messages of one turn share a COMMIT (store/sqlite.ts, GroupCommit)
// and a failure rolls the whole batch back: the others are handled again
// (dm/session/handle.ts). Their devices must see nothing of it: every session completes,
// its operation is answered once, and each session is stored once. The failure is a real
// one, raised by the database: a trigger refuses every update of one device's row.
// The clients call the DM handler itself rather than through sockets: started together,
// their messages then reach their transactions in the same turn, one batch, in the order
// they were sent, the failing device's last; over HTTP which turn each lands in is the
// loopback's choice, and no run here ever put the failing one behind the others.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DmGuard } from '../../src/dm/session/guard.ts';
import { handleDmMessage } from '../../src/dm/session/handle.ts';
import { DmTestClient } from '../support/dm-test-client.ts';
import { runSql, selectRows } from '../support/sql.ts';
import { capturedLog, startTestServer, type TestServer } from '../support/server.ts';

const GOOD = 8;
const ROUNDS = 6;
const logged = capturedLog();
let server: TestServer;
let suffix: string;
/** The trigger, and on PostgreSQL its function: named per run, as a PostgreSQL database is shared. */
let trigger: string;

interface Device {
  id: string;
  username: string;
  password: string;
}

async function register(id: string): Promise<Device> {
  const device = { id, username: `u-${id}`, password: `pw-${id}-0123456789` };
  expect((await server.api('/api/v1/devices', { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, model: 'X100', credentials: { username: device.username, password: device.password } }) })).status).toBe(201);
  return device;
}

/** A test client whose messages go to the DM handler in this process, answered as the route answers a failure: 500. */
class DirectClient extends DmTestClient {
  private readonly guard = new DmGuard(server.ctx.config.dm.auth);

  override async post(body: Uint8Array | string, contentType = XML, url = this.currentUrl, headers: Record<string, string> = {}) {
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    const token = new URL(url).searchParams.get('s') ?? undefined;
    try {
      const answer = await handleDmMessage(server.ctx, this.guard, { body: bytes, contentType, token, hmacHeader: headers['x-syncml-hmac'], serverUrl: `${server.url}/dm`, address: '127.0.0.1' });
      return { status: answer.status, contentType: answer.contentType, body: answer.body, retryAfter: null };
    } catch {
      return { status: 500, contentType: 'application/json', body: new Uint8Array(), retryAfter: null };
    }
  }
}

const XML = 'application/vnd.syncml.dm+xml';
const client = (d: Device) => new DirectClient({ url: `${server.url}/dm`, devId: d.id, username: d.username, password: d.password, tree: { './DevDetail/FwV': '1.0.0' } });

beforeAll(async () => {
  server = await startTestServer({}, { log: logged.log });
  suffix = `${process.pid}-${Date.now()}`;
  trigger = `fail_bad_${process.pid}_${Date.now()}`;
});

afterAll(async () => {
  // The trigger and its function outlive the server on a shared PostgreSQL database.
  if (server.ctx.db.dialect === 'postgres') {
    await runSql(server.ctx.db, `DROP TRIGGER IF EXISTS ${trigger} ON devices`);
    await runSql(server.ctx.db, `DROP FUNCTION IF EXISTS ${trigger}()`);
  }
});

/** Every update of `deviceId`'s row fails in the database, as a full disk or a broken row would. */
async function refuseUpdatesOf(deviceId: string): Promise<void> {
  if (server.ctx.db.dialect === 'sqlite') {
    await runSql(server.ctx.db, `CREATE TRIGGER ${trigger} BEFORE UPDATE ON devices FOR EACH ROW WHEN OLD.id = '${deviceId}' BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
  } else {
    await runSql(server.ctx.db, `CREATE FUNCTION ${trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`);
    await runSql(server.ctx.db, `CREATE TRIGGER ${trigger} BEFORE UPDATE ON devices FOR EACH ROW WHEN (OLD.id = '${deviceId}') EXECUTE FUNCTION ${trigger}()`);
  }
}

describe('a DM message that fails beside others', () => {
  it('leaves the other devices\' sessions whole: answered, their operations done once, each session stored once', async () => {
    const bad = await register(`bad-${suffix}`);
    const good = await Promise.all(Array.from({ length: GOOD }, (_, i) => register(`good-${i}-${suffix}`)));
    await refuseUpdatesOf(bad.id);
    const clients = good.map(client);
    const badClient = client(bad);
    const operations: string[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const d of good) {
        const res = await server.api(`/api/v1/devices/${encodeURIComponent(d.id)}/operations`, { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ command: 'Get', uri: './DevDetail/FwV' }) });
        expect(res.status).toBe(202);
        operations.push(((await res.json()) as { id: string }).id);
      }
      // The failing device's messages go out at the same moments as the others', after
      // them; each session starts without credentials (a challenge first), so every
      // message 2 reaches its transaction in the same turn.
      const fresh = { cred: 'none' } as const;
      const [goodOutcomes, badOutcomes] = await Promise.all([Promise.all(clients.map((c) => c.session(fresh))), Promise.all([badClient.session(fresh)])]);
      expect(goodOutcomes.map((o) => o.end)).toEqual(Array(GOOD).fill('completed'));
      // Its authenticated message failed in the database: a 500, nothing stored.
      for (const o of badOutcomes) expect(o.exchanges.at(-1)?.response.httpStatus).toBe(500);
    }
    for (const [i, opId] of operations.entries()) {
      const device = good[i % GOOD] as Device;
      const res = await server.api(`/api/v1/devices/${encodeURIComponent(device.id)}/operations/${opId}`, { token: server.tokens.operator });
      expect(await res.json()).toMatchObject({ status: 'done', statusCode: 200, result: [expect.objectContaining({ uri: './DevDetail/FwV', data: '1.0.0' })] });
    }
    const sessions = await selectRows<{ device_id: string; n: number }>(server.ctx.db, 'SELECT device_id, COUNT(*) AS n FROM dm_sessions WHERE device_id LIKE ? GROUP BY device_id', `%-${suffix}`);
    expect(new Map(sessions.map((s) => [s.device_id, Number(s.n)]))).toEqual(new Map(good.map((d) => [d.id, ROUNDS])));
    const handledAgain = logged.lines().filter((line) => line.includes('DM message handled again')).length;
    // On SQLite every round's failing message was in the batch of the others' messages 2
    // (each handled again once); PostgreSQL commits each message alone.
    if (server.ctx.db.dialect === 'sqlite') expect(handledAgain).toBe(ROUNDS * GOOD);
    else expect(handledAgain).toBe(0);
  }, 60_000);
});
