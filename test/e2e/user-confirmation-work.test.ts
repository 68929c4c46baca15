// Asking the device's user first, end to end with the reference agent and its simulated
// user, for work other than a one-step firmware update: a two-step update asks once (twice
// with eachStep), a configuration campaign's rejections are canceled, not failed (the
// campaign does not pause on them), and a baseline that asks before its installs leaves a
// device whose user said no as it is, without asking again.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CampaignView } from '../../src/campaigns/schemas.ts';
import { type AgentOptions, DeviceAgent } from '../../src/device/agent.ts';
import type { TrustPolicy } from '../../src/signing/envelope.ts';
import { pseudoRandom } from '../support/harness.ts';
import { serveFirmwarePair } from '../support/firmware-pair.ts';
import type { BuildBody, TestServer } from '../support/server.ts';

const MODEL = 'camera-ask-work';
const PASSWORD = 'device-password-2';
const CONFIRM = { text: 'Apply the change now?', maxSeconds: 60 };
let server: TestServer;
let v2: BuildBody;
let baseImage: string;
let trust: TrustPolicy;
let dir: string;

beforeAll(async () => {
  ({ server, v2, baseImage, trust, dir } = await serveFirmwarePair('confirm-work', MODEL, 32 * 1024));
}, 120_000);

async function call<T>(path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST'): Promise<T> {
  const res = await server.api(path, { method, token: server.tokens.operator, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

async function device(id: string, user: AgentOptions['user'], model = MODEL): Promise<DeviceAgent> {
  await call('/api/v1/devices', { id, model, firmwareVersion: '1.0', credentials: { username: id, password: PASSWORD } });
  return DeviceAgent.open({ serverUrl: server.url, devId: id, model, username: id, password: PASSWORD, dataDir: join(dir, id), image: baseImage, version: '1.0', trust, ...(user ? { user } : {}) });
}

describe('a two-step update that asks the user', () => {
  it.each([
    [false, 1],
    [true, 2],
  ])('asks before the download and not again before the install, unless eachStep (eachStep %s: %i prompts)', async (eachStep, prompts) => {
    const id = `two-step-ask-${eachStep}`;
    const agent = await device(id, undefined);
    const { id: depId } = await call<{ id: string }>('/api/v1/deployments', { deviceId: id, buildId: v2.id, mode: 'twoStep', confirm: { ...CONFIRM, eachStep } });
    for (let i = 0; i < 3 && agent.firmwareVersion !== '2.0'; i += 1) await agent.runOnce();
    expect(agent.firmwareVersion).toBe('2.0');
    expect(agent.prompts.map((p) => p.outcome)).toEqual(Array.from({ length: prompts }, () => 'accepted'));
    expect((await call<{ state: string }>(`/api/v1/deployments/${depId}`)).state).toBe('succeeded');
  });
});

describe('a configuration campaign that asks each device user', () => {
  it('cancels the devices whose users reject, counts them apart from failures, and completes without pausing', async () => {
    await call('/api/v1/profiles', { name: 'telemetry-on', model: MODEL, operations: [{ command: 'Add', uri: './Vendor/Telemetry/Enabled', data: 'true', format: 'bool' }] });
    const ids = ['cfg-ask-a', 'cfg-ask-b', 'cfg-ask-c', 'cfg-ask-d'];
    const agents = await Promise.all(ids.map((id, i) => device(id, { rejectShare: i < 2 ? 1 : 0 })));
    const { id: campaignId } = await call<{ id: string }>('/api/v1/campaigns', { name: 'telemetry, asked', profile: 'telemetry-on@1', cohort: { deviceIds: ids }, stages: [{ percent: 100, requiresApproval: false }], failureThreshold: 0.2, successThreshold: 0.9, minSample: 1, confirm: CONFIRM });
    await call(`/api/v1/campaigns/${campaignId}/start`, {});
    for (const agent of agents) await agent.runOnce();
    await server.campaigns.idle();
    const view = await call<CampaignView>(`/api/v1/campaigns/${campaignId}`);
    expect(view.stages[0]?.counts).toMatchObject({ succeeded: 2, canceled: 2, failed: 0 });
    expect(view.state).not.toBe('paused');
    expect(agents.map((a) => a.prompts.map((p) => p.outcome).join())).toEqual(['rejected', 'rejected', 'accepted', 'accepted']);
    // Nothing was written where the user said no.
    expect(agents.map((a) => a.tree.values['./Vendor/Telemetry/Enabled'] ?? null)).toEqual([null, null, 'true', 'true']);
    const deployments = await call<{ items: Array<{ id: string; deviceId: string; state: string }> }>(`/api/v1/deployments?campaign=${campaignId}&state=canceled`);
    expect(deployments.items.map((d) => d.deviceId).sort()).toEqual(['cfg-ask-a', 'cfg-ask-b']);
    const canceled = await call<{ history: Array<{ cause: string }> }>(`/api/v1/deployments/${deployments.items[0]?.id ?? ''}`);
    expect(canceled.history.at(-1)?.cause).toBe('the user rejected the configuration change (Alert 1101 answered 304)');
    const accepted = await call<{ items: Array<{ id: string }> }>(`/api/v1/deployments?campaign=${campaignId}&state=succeeded`);
    const applied = await call<{ history: Array<{ cause: string }> }>(`/api/v1/deployments/${accepted.items[0]?.id ?? ''}`);
    expect(applied.history.map((h) => h.cause)).toContain('the user accepted the configuration change (Alert 1101 answered 200)');
  });
});

describe('a baseline that asks before its installs', () => {
  const model = `${MODEL}-apps`;
  beforeAll(async () => {
    expect((await server.upload(model, '1.0', pseudoRandom(8 * 1024, 'apps-fw'))).status).toBe('ready');
    const app = await server.api(`/api/v1/apps?model=${model}&component=com.acme.maps&version=2.0`, { method: 'POST', token: server.tokens.acme, body: pseudoRandom(12_000, 'maps-2'), headers: { 'content-type': 'application/octet-stream' } });
    expect(app.status).toBe(201);
    await call(`/api/v1/baselines/${model}`, { apps: [{ component: 'com.acme.maps', version: '2.0' }], confirm: { ...CONFIRM, text: 'Install Maps 2.0?' } }, 'PUT');
  });

  it('installs once the user accepts, and leaves the device as it is, asking no more, once the user rejects', async () => {
    const yes = await device('baseline-ask-yes', undefined, model);
    const no = await device('baseline-ask-no', { rejectShare: 1 }, model);
    await yes.runOnce();
    await no.runOnce();
    await no.runOnce();
    expect(yes.prompts.map((p) => [p.prompt.text, p.outcome])).toEqual([['Install Maps 2.0?', 'accepted']]);
    expect(no.prompts.map((p) => p.outcome)).toEqual(['rejected']);
    const appsOf = (id: string) => call<{ components: Array<{ component: string; version: string }>; deployments: Array<{ state: string; history: Array<{ cause: string }> }> }>(`/api/v1/devices/${id}/apps`);
    expect((await appsOf('baseline-ask-yes')).components.map((c) => `${c.component} ${c.version}`)).toEqual(['com.acme.maps 2.0']);
    const refused = await appsOf('baseline-ask-no');
    expect(refused.components).toEqual([]);
    expect(refused.deployments.map((d) => [d.state, d.history.at(-1)?.cause])).toEqual([['canceled', 'the user rejected the install (Alert 1101 answered 304)']]);
  });
});
