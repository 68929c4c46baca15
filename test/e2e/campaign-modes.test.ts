// Two-step and download-only campaigns with the reference device agent over real OMA DM
// and the download endpoint. Two-step: the device downloads at once, even outside the
// window, and installs only once the window is open (here: the campaign is forced).
// Download-only: the device downloads and stops; it installs after the operator's
// `install`. The campaign's deployment succeeds when the device reports the new FwV.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectKeptCountsMatchRows } from '../support/stage-counts.ts';
import type { CampaignView } from '../../src/campaigns/schemas.ts';
import { DeviceAgent } from '../../src/device/agent.ts';
import { parseTrust } from '../../src/device/trust.ts';
import type { TrustPolicy } from '../../src/signing/envelope.ts';
import { nextBuild, pseudoRandom, tempDir } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { until } from '../support/until.ts';

const MODEL = 'modes-model';
let server: TestServer;
let target: string;
let trust: TrustPolicy;
let v1: Buffer;

beforeAll(async () => {
  server = await startTestServer();
  v1 = pseudoRandom(200_000, 'modes-v1');
  await server.upload(MODEL, '1.0', v1);
  target = (await server.upload(MODEL, '2.0', nextBuild(v1))).id;
  trust = parseTrust(await (await server.api('/api/v1/manufacturers/acme/keys', { token: server.tokens.operator })).text(), 'served keys');
});

// Whatever the test did to the campaigns' deployments, their kept counts still match the rows.
afterEach(() => expectKeptCountsMatchRows(server.ctx.db));

const post = (path: string, body: unknown) => server.api(path, { method: 'POST', token: server.tokens.operator, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
const view = async (id: string) => (await (await server.api(`/api/v1/campaigns/${id}`, { token: server.tokens.operator })).json()) as CampaignView;

async function agent(id: string): Promise<DeviceAgent> {
  const res = await post('/api/v1/devices', { id, model: MODEL, firmwareVersion: '1.0', tags: [id], credentials: { username: id, password: 'device-password' } });
  expect(res.status).toBe(201);
  const dir = tempDir();
  const image = join(dir, 'v1.bin');
  await writeFile(image, v1);
  return DeviceAgent.open({ serverUrl: server.url, devId: id, model: MODEL, username: id, password: 'device-password', dataDir: join(dir, 'device'), image, version: '1.0', trust, download: { retryDelayMs: 20 } });
}

async function campaign(tag: string, extra: Record<string, unknown>): Promise<string> {
  const res = await post('/api/v1/campaigns', { name: `modes ${tag}`, buildId: target, cohort: { tags: [tag] }, stages: [{ percent: 100 }], successThreshold: 1, minSample: 1, ...extra });
  expect(res.status, await res.clone().text()).toBe(201);
  const { id } = (await res.json()) as { id: string };
  expect((await post(`/api/v1/campaigns/${id}/start`, {})).status).toBe(200);
  return id;
}

const closedWindow = () => {
  const today = new Date(server.clock.now()).getUTCDay();
  const days = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'].filter((_, i) => i !== today && i !== (today + 6) % 7);
  return { timeZone: 'UTC', days, start: '00:00', end: '00:00' };
};

describe('campaign modes with the reference agent', () => {
  it('two-step: downloads outside the window at once, installs when the window opens', async () => {
    const device = await agent('modes-two-step');
    const id = await campaign('modes-two-step', { mode: 'twoStep', maintenanceWindow: closedWindow() });
    expect((await view(id)).mode).toBe('twoStep');

    const downloaded = await device.runOnce();
    expect(downloaded.jobs).toEqual([expect.objectContaining({ operation: 'Download', resultCode: 200 })]);
    expect(downloaded.firmwareVersion).toBe('1.0');
    // The window is still closed: no Update.
    expect((await device.runOnce()).jobs).toEqual([]);
    expect((await view(id)).totals).toMatchObject({ scheduled: 1, succeeded: 0 });

    // Forcing opens it: the next poll installs.
    expect((await post(`/api/v1/campaigns/${id}/force`, { reason: 'window moved by the carrier' })).status).toBe(200);
    const updated = await device.runOnce();
    expect(updated.jobs).toEqual([expect.objectContaining({ operation: 'Update', resultCode: 200 })]);
    expect(updated.firmwareVersion).toBe('2.0');
    await device.runOnce();
    await until('the campaign completed', () => view(id), (v) => v.state === 'completed', 20_000);
    expect((await view(id)).totals).toMatchObject({ succeeded: 1, failed: 0 });
  });

  it('download-only: the device downloads and stops; after install it updates', async () => {
    const device = await agent('modes-download-only');
    const id = await campaign('modes-download-only', { mode: 'downloadOnly' });

    const downloaded = await device.runOnce();
    expect(downloaded.jobs).toEqual([expect.objectContaining({ operation: 'Download', resultCode: 200 })]);
    expect((await device.runOnce()).jobs).toEqual([]);
    expect((await device.runOnce()).firmwareVersion).toBe('1.0');
    expect((await view(id)).state).toBe('running');

    const installed = await post(`/api/v1/campaigns/${id}/install`, { reason: 'field trial looked fine' });
    expect(installed.status).toBe(200);
    expect(((await installed.json()) as CampaignView).mode).toBe('twoStep');
    const updated = await device.runOnce();
    expect(updated.jobs).toEqual([expect.objectContaining({ operation: 'Update', resultCode: 200 })]);
    expect(updated.firmwareVersion).toBe('2.0');
    await device.runOnce();
    await until('the campaign completed', () => view(id), (v) => v.state === 'completed', 20_000);
    // Only a download-only campaign waits for install.
    expect((await post(`/api/v1/campaigns/${id}/install`, {})).status).toBe(409);
  });

  it('install (the default) keeps DownloadAndUpdate in one Exec', async () => {
    const device = await agent('modes-install');
    const id = await campaign('modes-install', {});
    expect((await view(id)).mode).toBe('install');
    const run = await device.runOnce();
    expect(run.jobs).toEqual([expect.objectContaining({ operation: 'DownloadAndUpdate', resultCode: 200 })]);
    expect(run.firmwareVersion).toBe('2.0');
  });
});
