// DM sessions lost before the device's Statuses came back, on both stores (this folder
// also runs on PostgreSQL): profile commands are sent again at the next session, also
// after the idle sweep failed them with 408; a rotation whose Status was lost commits
// when the device opens a session with the new credentials. The whole flows, with their
// console and campaign sides, are in test/e2e/reprovisioning.test.ts.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentOptions, DeviceAgent } from '../../src/device/agent.ts';
import { endIdleSessions } from '../../src/dm/session/expire.ts';
import type { BatchExport } from '../../src/enroll/schemas.ts';
import type { DeviceConfiguration } from '../../src/profiles/schemas.ts';
import { pseudoRandom, tempDirFor } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const MODEL = 'meter-lost';
let server: TestServer;
let dir: string;

beforeAll(async () => {
  dir = tempDirFor('dm-lost', afterAll);
  server = await startTestServer();
  await writeFile(join(dir, 'v1.bin'), pseudoRandom(2048, 'dm-lost'));
  await server.postJson('/api/v1/profiles', { name: 'meter-lost-base', model: MODEL, provisioning: true, operations: [{ command: 'Replace', uri: './Vendor/Interval', data: '900', format: 'int' }] });
}, 60_000);

async function applications(id: string): Promise<DeviceConfiguration['applications']> {
  return ((await (await server.api(`/api/v1/devices/${encodeURIComponent(id)}/configuration`, { token: server.tokens.operator })).json()) as DeviceConfiguration).applications;
}

function agent(id: string, extra: Partial<AgentOptions>): Promise<DeviceAgent> {
  return DeviceAgent.open({ devId: id, model: MODEL, dataDir: join(dir, id.replace(/[^A-Za-z0-9]/g, '_')), image: join(dir, 'v1.bin'), version: '1.0', trust: { keys: [] }, ...extra });
}

describe('a DM session lost before the Statuses came back', () => {
  it('sends the profile commands again at the next session, also after the idle sweep failed them with 408', async () => {
    await server.postJson('/api/v1/devices', { id: 'lost-1', model: MODEL, credentials: { username: 'lost-1', password: 'lost-password-1' } });
    const a = await agent('lost-1', { serverUrl: server.url, username: 'lost-1', password: 'lost-password-1', failures: { dropAfterWrites: 1 } });
    await a.runOnce();
    const later = { ...server.ctx, clock: { now: () => Date.now() + server.ctx.config.dm.sessionIdleMs + 1000 } };
    expect(await endIdleSessions(later)).toBe(1);
    expect(await applications('lost-1')).toEqual([expect.objectContaining({ state: 'queued', attempts: 1 })]);
    await a.runOnce();
    expect(await applications('lost-1')).toEqual([expect.objectContaining({ reason: 'provisioning', state: 'succeeded', attempts: 2, failureCode: null })]);
    expect(a.tree.get('./Vendor/Interval')).toEqual({ status: 200, value: { data: '900', format: 'chr' } });
  }, 60_000);

  it('commits a rotation whose Status was lost when the device opens a session with the new credentials', async () => {
    const batch = await server.postJson<{ id: string }>('/api/v1/enrollments', { name: 'lost lot', model: MODEL, deviceIds: ['SN:LOST-2'], claim: { name: 'claim-dm-lost' } });
    const exported = await server.postJson<BatchExport>(`/api/v1/enrollments/${batch.id}/export`, {});
    const file = join(dir, 'lost-2.cp.xml');
    await writeFile(file, exported.files.find((f) => f.path === 'devices/SN_LOST-2.cp.xml')?.content ?? '');
    const a = await agent('SN:LOST-2', { bootstrap: file, failures: { loseRotationStatus: true } });
    await a.runOnce();
    await expect(a.runOnce()).resolves.toMatchObject({ sessions: 1 });
    const view = (await (await server.api(`/api/v1/enrollments/${batch.id}`, { token: server.tokens.operator })).json()) as { devices: Record<string, number> };
    expect(view.devices).toEqual({ issued: 0, awaitingClaim: 0, enrolled: 1 });
    expect(await applications('SN:LOST-2')).toEqual([expect.objectContaining({ reason: 'provisioning', state: 'succeeded', attempts: 2 })]);
  }, 60_000);
});
