// The fleet simulator's users: with `user` shares, deployments that ask first (confirm)
// are rejected by the devices dealt to rejection (the same ones on every run) and go on
// elsewhere; the fleet counts as settled once every device updated or declined.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseTrust } from '../../src/device/trust.ts';
import { Fleet } from '../../src/device/simulate/fleet.ts';
import type { TrustPolicy } from '../../src/signing/envelope.ts';
import { nextBuild, pseudoRandom, tempDir, tempDirFor } from '../support/harness.ts';
import { type BuildBody, startTestServer, type TestServer } from '../support/server.ts';

const MODEL = 'sim-user-model';
const BASE = pseudoRandom(64 * 1024, 'sim-user-base');

let server: TestServer;
let target: BuildBody;
let trust: TrustPolicy;
let imagePath: string;

beforeAll(async () => {
  server = await startTestServer();
  expect((await server.upload(MODEL, '1.0.0', BASE)).status).toBe('ready');
  target = await server.upload(MODEL, '1.1.0', nextBuild(BASE, 'sim-user-next'));
  trust = parseTrust(await (await server.api('/api/v1/manufacturers/acme/keys', { token: server.tokens.operator })).text(), 'served keys');
  imagePath = join(tempDirFor('sim-user-image', afterAll), 'base.bin');
  await writeFile(imagePath, BASE);
});

it('a share of the simulated users rejects a deployment that asks first; their devices stay, the others update', async () => {
  const fleet = await Fleet.create({ server: server.url, api: { server: server.url, token: server.tokens.operator }, devices: 12, model: MODEL, manufacturer: 'acme', version: '1.0.0', image: imagePath, trust, dataDir: join(tempDir(), 'fleet'), idPrefix: 'asked-', pollSeconds: 3600, firstPollSeconds: 0, webhook: false, retryDelayMs: 20, user: { rejectShare: 0.5 } });
  try {
    for (const deviceId of fleet.ids) {
      const res = await server.api('/api/v1/deployments', { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ deviceId, buildId: target.id, confirm: { text: 'Update now?', maxSeconds: 60 } }) });
      expect(res.status).toBe(201);
    }
    fleet.start();
    expect(await fleet.until('1.1.0', AbortSignal.timeout(45_000))).toBe(true);
    const summary = fleet.summary('1.1.0');
    const answers = summary.userAnswers ?? {};
    expect((answers.rejected ?? 0) + (answers.accepted ?? 0)).toBe(12);
    expect(answers.rejected).toBeGreaterThan(0);
    expect(answers.accepted).toBeGreaterThan(0);
    // Who rejected stays on 1.0.0 with a canceled deployment; who accepted runs 1.1.0.
    expect(summary.byVersion).toEqual({ '1.0.0': answers.rejected, '1.1.0': answers.accepted });
    expect(summary.failuresByCode).toEqual({});
    for (const id of fleet.ids) {
      const device = (await (await server.api(`/api/v1/devices/${id}`, { token: server.tokens.operator })).json()) as { firmwareVersion: string; deployments: Array<{ state: string }> };
      expect(device.deployments.map((d) => d.state)).toEqual([device.firmwareVersion === '1.1.0' ? 'succeeded' : 'canceled']);
    }
  } finally {
    await fleet.stop();
  }
});

it('the same simulated users answer a configuration change that asks first: rejected applications are canceled, accepted ones applied', async () => {
  const json = { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' } };
  expect((await server.api('/api/v1/profiles', { ...json, body: JSON.stringify({ name: 'sim-user-telemetry', model: MODEL, operations: [{ command: 'Add', uri: './Vendor/Telemetry/Enabled', data: 'true', format: 'bool' }] }) })).status).toBe(201);
  const fleet = await Fleet.create({ server: server.url, api: { server: server.url, token: server.tokens.operator }, devices: 8, model: MODEL, manufacturer: 'acme', version: '1.0.0', image: imagePath, trust, dataDir: join(tempDir(), 'fleet'), idPrefix: 'asked-cfg-', pollSeconds: 3600, firstPollSeconds: 0, webhook: false, retryDelayMs: 20, user: { rejectShare: 0.5 } });
  try {
    const applications = new Map<string, string>();
    for (const deviceId of fleet.ids) {
      const res = await server.api(`/api/v1/devices/${deviceId}/profile`, { ...json, body: JSON.stringify({ profile: 'sim-user-telemetry@1', notify: false, confirm: { text: 'Turn telemetry on?', maxSeconds: 60 } }) });
      expect(res.status).toBe(202);
      applications.set(deviceId, ((await res.json()) as { applicationId: string }).applicationId);
    }
    fleet.start();
    const states = async () =>
      Promise.all(fleet.ids.map(async (id) => ((await (await server.api(`/api/v1/devices/${id}/profile-applications/${applications.get(id) ?? ''}`, { token: server.tokens.operator })).json()) as { state: string }).state));
    for (let settled = await states(); settled.includes('queued'); settled = await states()) await new Promise((resolve) => setTimeout(resolve, 100));
    const answers = fleet.summary().userAnswers ?? {};
    const final = await states();
    expect(answers.rejected).toBeGreaterThan(0);
    expect(answers.accepted).toBeGreaterThan(0);
    expect(final.filter((s) => s === 'canceled').length).toBe(answers.rejected);
    expect(final.filter((s) => s === 'succeeded').length).toBe(answers.accepted);
  } finally {
    await fleet.stop();
  }
}, 60_000);
