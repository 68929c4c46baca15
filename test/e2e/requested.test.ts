// Updates the device asks for, end to end: an operator releases a build to a cohort over
// the API, and the reference device agent asks over OMA DM (Generic Alert 1226,
// ...devicerequest or ...userrequest). In the cohort it is answered in the same session
// with the FUMO commands and ends on the release's build; outside it, or when the release
// is withdrawn or its window closed, it is told why there is nothing to do, and the
// reason is in the audit log. Requests past one a minute are acknowledged and refused.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type AgentOptions, DeviceAgent } from '../../src/device/agent.ts';
import { WEEKDAYS } from '../../src/schedule/window.ts';
import type { TrustPolicy } from '../../src/signing/envelope.ts';
import { nextBuild, sha256 } from '../support/harness.ts';
import { serveFirmwarePair } from '../support/firmware-pair.ts';
import type { BuildBody, TestServer } from '../support/server.ts';

const MODEL = 'camera-request';
const PASSWORD = 'device-password-1';
let server: TestServer;
let v2: BuildBody;
let v2Image: Buffer;
let baseImage: string;
let trust: TrustPolicy;
let dir: string;

beforeAll(async () => {
  ({ server, v2, baseImage, trust, dir, v2Image } = await serveFirmwarePair('request', MODEL, 64 * 1024));
}, 120_000);

async function call(path: string, init: { method?: string; body?: unknown; token?: string | undefined } = {}): Promise<Response> {
  return server.api(path, {
    method: init.method ?? 'GET',
    ...('token' in init ? (init.token ? { token: init.token } : {}) : { token: server.tokens.operator }),
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body), headers: { 'content-type': 'application/json' } }),
  });
}

async function release(body: unknown): Promise<{ id: string; version: string; withdrawnAt: string | null }> {
  const res = await call('/api/v1/releases', { method: 'POST', body });
  const text = await res.text();
  expect(res.status, text).toBe(201);
  return JSON.parse(text) as { id: string; version: string; withdrawnAt: string | null };
}

async function device(id: string, tags: string[], extra: Partial<AgentOptions> = {}): Promise<DeviceAgent> {
  const res = await call('/api/v1/devices', { method: 'POST', body: { id, model: MODEL, firmwareVersion: '1.0', tags, credentials: { username: id, password: PASSWORD } } });
  expect(res.status, await res.text()).toBe(201);
  return DeviceAgent.open({ serverUrl: server.url, devId: id, model: MODEL, username: id, password: PASSWORD, dataDir: join(dir, id), image: baseImage, version: '1.0', trust, download: { retryDelayMs: 20 }, ...extra });
}

/** What the server recorded about the device's requests, newest first. */
async function requestsOf(deviceId: string): Promise<Array<{ action: string; details: { outcome: string; reason?: string } }>> {
  const res = await call(`/api/v1/audit?subject=${deviceId}`);
  const page = (await res.json()) as { items: Array<{ action: string; details: { outcome: string; reason?: string } }> };
  return page.items.filter((e) => e.action.startsWith('device.update-request'));
}

describe('updates the device asks for', () => {
  it('a device of the released cohort asks (user request, XML) and ends on the release build, its patched image verified', async () => {
    const rel = await release({ buildId: v2.id, cohort: { tags: ['beta'] } });
    const agent = await device('req-beta', ['beta']);
    const report = await agent.runOnce(undefined, 'user');
    expect(report.request).toMatchObject({ kind: 'user', status: 200, said: `update to 2.0 (release ${rel.id}) follows` });
    expect(report.jobs.map((j) => j.resultCode)).toEqual([200]);
    expect(report.firmwareVersion).toBe('2.0');
    expect(sha256(await readFile(agent.activeImagePath()))).toBe(sha256(v2Image));
    const [answered] = await requestsOf('req-beta');
    expect(answered?.details).toMatchObject({ outcome: 'commanded', releaseId: rel.id, reason: `update requested by user: release ${rel.id} commanded (2.0)` });
    // One deployment, of no campaign, delivered as the delta from the version the device ran.
    const view = (await (await call('/api/v1/devices/req-beta')).json()) as { deployments: Array<{ id: string; packageId: string; state: string }> };
    const delta = (v2.packages as unknown as Array<{ id: string; kind: string; fromVersion: string | null }>).find((p) => p.kind === 'bsdiff40' && p.fromVersion === '1.0');
    expect(view.deployments.map((d) => [d.state, d.packageId])).toEqual([['succeeded', delta?.id]]);
    const history = (await (await call(`/api/v1/deployments/${view.deployments[0]?.id}`)).json()) as { history: Array<{ cause: string }> };
    expect(history.history[0]?.cause).toBe(`update requested by user; release ${rel.id} offers 2.0`);
  });

  it('a device outside the cohort asks (device request, WBXML) and is told none is released for it; the reason is recorded', async () => {
    const agent = await device('req-plain', [], { encoding: 'wbxml' });
    const report = await agent.runOnce(undefined, 'device');
    expect(report.request).toMatchObject({ kind: 'device', status: 200, said: 'update requested by device: none released for cohort' });
    expect(report.jobs).toEqual([]);
    expect(report.firmwareVersion).toBe('1.0');
    expect((await requestsOf('req-plain'))[0]?.details).toMatchObject({ outcome: 'none', reason: 'update requested by device: none released for cohort' });
  });

  it('answers one request a minute per device; more are acknowledged with the reason', async () => {
    const agent = await device('req-eager', []);
    expect((await agent.runOnce(undefined, 'device')).request?.said).toBe('update requested by device: none released for cohort');
    const again = await agent.runOnce(undefined, 'device');
    expect(again.request?.status).toBe(200);
    expect(again.request?.said).toMatch(/^update requested by device: already answered at .*; one request a minute is answered$/);
    expect((await requestsOf('req-eager')).map((e) => e.details.outcome)).toEqual(['rate-limited', 'none']);
    server.clock.advance(61_000);
    expect((await agent.runOnce(undefined, 'device')).request?.said).toBe('update requested by device: none released for cohort');
  });

  it('does not offer a withdrawn release', async () => {
    const rel = await release({ buildId: v2.id, cohort: { tags: ['gamma'] } });
    const withdrawn = await call(`/api/v1/releases/${rel.id}`, { method: 'DELETE' });
    expect(withdrawn.status).toBe(200);
    expect(((await withdrawn.json()) as { withdrawnAt: string | null }).withdrawnAt).not.toBeNull();
    expect((await call(`/api/v1/releases/${rel.id}`, { method: 'DELETE' })).status).toBe(409);
    const agent = await device('req-gamma', ['gamma']);
    const report = await agent.runOnce(undefined, 'device');
    expect(report.request?.said).toBe('update requested by device: none released for cohort');
    expect(report.firmwareVersion).toBe('1.0');
    const list = (await (await call('/api/v1/releases')).json()) as { items: Array<{ id: string; withdrawnAt: string | null }> };
    expect(list.items.find((r) => r.id === rel.id)?.withdrawnAt).not.toBeNull();
  });

  it('with the window closed, nothing now; the reason names when it opens', async () => {
    // A whole-day window two days ahead (UTC): closed now, whatever the time of day.
    const today = new Date(server.clock.now()).getUTCDay();
    const day = WEEKDAYS[(today + 2) % 7] ?? 'sun';
    const rel = await release({ buildId: v2.id, cohort: { tags: ['night'] }, maintenanceWindow: { timeZone: 'UTC', days: [day], start: '00:00', end: '00:00' } });
    const agent = await device('req-night', ['night']);
    const report = await agent.runOnce(undefined, 'device');
    const opens = `${day[0]?.toUpperCase()}${day.slice(1)} 00:00 UTC`;
    expect(report.request?.said).toMatch(new RegExp(`^update requested by device: release ${rel.id} \\(2\\.0\\): window closed, opens ${opens} \\(\\d{4}-`));
    expect(report.jobs).toEqual([]);
  });

  it('leaves releases to operators: a manufacturer token and no token are refused, and nothing is created', async () => {
    for (const [token, status] of [[server.tokens.acme, 403], [undefined, 401], ['fota_forged-token', 401]] as const) {
      expect((await call('/api/v1/releases', { method: 'POST', body: { buildId: v2.id, cohort: {} }, token })).status).toBe(status);
      expect((await call('/api/v1/releases', { token })).status).toBe(status);
    }
    const before = (await (await call('/api/v1/releases')).json()) as { items: Array<{ id: string }> };
    expect((await call(`/api/v1/releases/${before.items[0]?.id ?? 'rel_x'}`, { method: 'DELETE', token: server.tokens.acme })).status).toBe(403);
    const after = (await (await call('/api/v1/releases')).json()) as { items: Array<{ id: string; withdrawnAt: string | null }> };
    expect(after.items).toEqual((before as typeof after).items);
  });

  it('a device already being updated keeps its deployment: no second one, the request says why', async () => {
    const agent = await device('req-busy', ['beta']);
    const res = await call('/api/v1/deployments', { method: 'POST', body: { deviceId: 'req-busy', buildId: v2.id } });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const report = await agent.runOnce(undefined, 'device');
    expect(report.request?.said).toBe(`update requested by device: deployment ${id} already under way (scheduled)`);
    expect(report.firmwareVersion).toBe('2.0');
    const view = (await (await call('/api/v1/devices/req-busy')).json()) as { deployments: Array<{ id: string; state: string }> };
    expect(view.deployments).toEqual([expect.objectContaining({ id, state: 'succeeded' })]);
  });

  it('refuses a release that would lower the security version of devices in its cohort', async () => {
    const res = await server.api(`/api/v1/builds?model=${MODEL}&version=1.5&securityVersion=3`, { method: 'POST', token: server.tokens.acme, body: nextBuild(v2Image, 'sec') });
    expect(res.status).toBe(202);
    expect((await server.settled(((await res.json()) as { id: string }).id)).status).toBe('ready');
    expect((await call('/api/v1/devices', { method: 'POST', body: { id: 'req-sec', model: MODEL, firmwareVersion: '1.5', tags: ['sec'], credentials: { username: 'req-sec', password: PASSWORD } } })).status).toBe(201);
    const refused = await call('/api/v1/releases', { method: 'POST', body: { buildId: v2.id, cohort: { tags: ['sec'] } } });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain('devices of this cohort run 1.5 (security version 3)');
  });

  it('refuses a release of an unknown build, or for another model', async () => {
    expect((await call('/api/v1/releases', { method: 'POST', body: { buildId: 'bld_nope' } })).status).toBe(404);
    expect((await call('/api/v1/releases', { method: 'POST', body: { buildId: v2.id, cohort: { model: 'other' } } })).status).toBe(400);
  });
});
