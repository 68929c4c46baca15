import { describe, expect, it } from 'vitest';
import { endIdleSessions } from '../../src/dm/session/expire.ts';
import { awaitingOf } from '../../src/dm/session/state.ts';
import { updateSession } from '../../src/store/queries/devices.ts';
import { DmTestClient } from '../support/dm-test-client.ts';
import { startTestServer } from '../support/server.ts';
import { selectRow } from '../support/sql.ts';

describe('idle DM sessions', () => {
  it.each([
    { kept: 'as this server keeps them', before: false },
    { kept: 'as a server before this one kept them (fields named)', before: true },
  ])('end after the idle timeout, failing the operations they sent with 408 (awaited commands $kept)', async ({ before }) => {
    const server = await startTestServer();
    const json = (body: unknown) => ({ method: 'POST', token: server.tokens.operator, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    await server.api('/api/v1/devices', json({ id: 'IMEI:IDLE', model: 'm', credentials: { username: 'idle', password: 'idle-password' } }));
    const op = (await (await server.api('/api/v1/devices/IMEI:IDLE/operations', json({ command: 'Exec', uri: './Reboot' }))).json()) as { id: string };
    const client = new DmTestClient({ url: `${server.url}/dm`, devId: 'IMEI:IDLE', username: 'idle', password: 'idle-password' });
    // The device authenticates, receives the Exec, and never answers.
    expect((await client.session({ maxMessages: 2 })).end).toBe('too-long');
    const status = async () => ((await (await server.api(`/api/v1/devices/IMEI:IDLE/operations/${op.id}`, { token: server.tokens.operator })).json()) as { status: string; statusCode?: number });
    expect((await status()).status).toBe('sent');
    if (before) {
      const row = await selectRow<{ id: string; awaiting: string }>(server.ctx.db, "select id, awaiting from dm_sessions where device_id = 'IMEI:IDLE'");
      if (!row) throw new Error('no session row');
      await server.ctx.db.transaction((tx) => updateSession(tx, row.id, { awaiting: JSON.stringify(awaitingOf(row.awaiting)) }));
    }

    expect(await endIdleSessions(server.ctx)).toBe(0); // not idle long enough yet
    const later = { ...server.ctx, clock: { now: () => Date.now() + server.ctx.config.dm.sessionIdleMs + 1000 } };
    expect(await endIdleSessions(later)).toBe(1);
    expect(await status()).toMatchObject({ status: 'failed', statusCode: 408 });
    const row = await selectRow(server.ctx.db, "select state from dm_sessions where device_id = 'IMEI:IDLE'");
    expect(row).toEqual({ state: 'ended' });
  });
});
