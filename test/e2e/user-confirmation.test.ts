// A FUMO deployment that asks the device's user first (`confirm`), end to end: the
// reference agent shows Alert 1101 and its simulated user accepts, rejects or stays
// silent. Accepted: the FUMO commands follow in the same session and the device updates.
// Rejected: the deployment is canceled with the user's reason, nothing is downloaded, and
// in a campaign it counts as no failure. Silent with no default response: asked again at
// the next session, then given up on. Every prompt and answer is in the device's history.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type AgentOptions, DeviceAgent } from '../../src/device/agent.ts';
import type { TrustPolicy } from '../../src/signing/envelope.ts';
import { serveFirmwarePair } from '../support/firmware-pair.ts';
import type { BuildBody, TestServer } from '../support/server.ts';

const MODEL = 'camera-confirm';
const PASSWORD = 'device-password-1';
let server: TestServer;
let v2: BuildBody;
let baseImage: string;
let trust: TrustPolicy;
let dir: string;

beforeAll(async () => {
  ({ server, v2, baseImage, trust, dir } = await serveFirmwarePair('confirm', MODEL, 64 * 1024));
}, 120_000);

async function call(path: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
  return server.api(path, { method: init.method ?? 'GET', token: server.tokens.operator, ...(init.body === undefined ? {} : { body: JSON.stringify(init.body), headers: { 'content-type': 'application/json' } }) });
}

async function device(id: string, user: AgentOptions['user'], encoding: 'xml' | 'wbxml' = 'xml'): Promise<DeviceAgent> {
  const res = await call('/api/v1/devices', { method: 'POST', body: { id, model: MODEL, firmwareVersion: '1.0', credentials: { username: id, password: PASSWORD } } });
  expect(res.status, await res.text()).toBe(201);
  return DeviceAgent.open({ serverUrl: server.url, devId: id, model: MODEL, username: id, password: PASSWORD, dataDir: join(dir, id), image: baseImage, version: '1.0', trust, encoding, ...(user ? { user } : {}) });
}

async function deploy(deviceId: string, confirm: unknown): Promise<string> {
  const res = await call('/api/v1/deployments', { method: 'POST', body: { deviceId, buildId: v2.id, confirm } });
  const text = await res.text();
  expect(res.status, text).toBe(201);
  return (JSON.parse(text) as { id: string }).id;
}

async function deployment(id: string) {
  return (await (await call(`/api/v1/deployments/${id}`)).json()) as { state: string; resultCode: number | null; bytesServed: number; history: Array<{ state: string; cause: string }> };
}

async function historyOf(deviceId: string): Promise<Array<{ action: string; details: Record<string, unknown> }>> {
  const page = (await (await call(`/api/v1/audit?subject=${deviceId}`)).json()) as { items: Array<{ action: string; details: Record<string, unknown> }> };
  return page.items.filter((e) => e.action.startsWith('dm.user-')).reverse();
}

const CONFIRM = { text: 'Install firmware 2.0 now? The camera restarts.', maxSeconds: 120 };

describe.each(['xml', 'wbxml'] as const)('a deployment that asks the user (%s)', (encoding) => {
  it('goes on in the same session when the user accepts, and the device updates', async () => {
    const agent = await device(`confirm-yes-${encoding}`, { rejectShare: 0 }, encoding);
    const id = await deploy(`confirm-yes-${encoding}`, CONFIRM);
    const report = await agent.runOnce();
    expect(agent.prompts).toEqual([{ prompt: { kind: 'confirm', text: CONFIRM.text, options: { maxSeconds: 120 } }, outcome: 'accepted' }]);
    expect(report.jobs.map((j) => j.resultCode)).toEqual([200]);
    expect(report.firmwareVersion).toBe('2.0');
    const view = await deployment(id);
    expect(view.state).toBe('succeeded');
    expect(view.history.map((h) => h.cause)).toContain('the user accepted the update (Alert 1101 answered 200)');
    expect((await historyOf(`confirm-yes-${encoding}`)).map((e) => [e.action, e.details.outcome ?? e.details.text])).toEqual([
      ['dm.user-prompt', CONFIRM.text],
      ['dm.user-answer', 'accepted'],
    ]);
  });

  it('ends with the user reason when the user rejects: canceled, nothing downloaded, the device unchanged', async () => {
    const agent = await device(`confirm-no-${encoding}`, { rejectShare: 1 }, encoding);
    const id = await deploy(`confirm-no-${encoding}`, CONFIRM);
    const report = await agent.runOnce();
    expect(agent.prompts.map((p) => p.outcome)).toEqual(['rejected']);
    expect(report.jobs).toEqual([]);
    expect(report.firmwareVersion).toBe('1.0');
    const view = await deployment(id);
    expect(view).toMatchObject({ state: 'canceled', resultCode: null, bytesServed: 0 });
    expect(view.history.at(-1)?.cause).toBe('the user rejected the update (Alert 1101 answered 304)');
    // Not asked again: the deployment is over.
    await agent.runOnce();
    expect(agent.prompts).toHaveLength(1);
    expect((await historyOf(`confirm-no-${encoding}`)).map((e) => e.details.outcome).filter(Boolean)).toEqual(['rejected']);
  });
});

describe('confirmation timeouts and campaigns', () => {
  it('asks again at the next session when the user stays silent without a default response, then gives up', async () => {
    const agent = await device('confirm-silent', { timeoutShare: 1 });
    const id = await deploy('confirm-silent', CONFIRM);
    for (let i = 0; i < 4; i++) await agent.runOnce();
    // Three prompts answered 408; the fourth session gives up instead of asking a fourth time.
    expect(agent.prompts.map((p) => p.outcome)).toEqual(['timeout', 'timeout', 'timeout']);
    const view = await deployment(id);
    expect(view.state).toBe('canceled');
    expect(view.history.at(-1)?.cause).toBe('the user did not answer the confirmation (3 prompts)');
    expect(agent.firmwareVersion).toBe('1.0');
  });

  it('takes silence as the default response when there is one (DR=0: rejected)', async () => {
    const agent = await device('confirm-default', { timeoutShare: 1 });
    const id = await deploy('confirm-default', { ...CONFIRM, defaultResponse: 'reject' });
    await agent.runOnce();
    expect(agent.prompts.map((p) => [p.prompt.options.defaultResponse, p.outcome])).toEqual([['0', 'rejected']]);
    expect((await deployment(id)).state).toBe('canceled');
  });

  it('in a campaign, users who reject are canceled, not failed: the stage completes and the campaign does not pause', async () => {
    const ids = ['cmp-confirm-a', 'cmp-confirm-b', 'cmp-confirm-c', 'cmp-confirm-d'];
    const agents = await Promise.all(ids.map((id, i) => device(id, { rejectShare: i < 2 ? 1 : 0 })));
    const res = await call('/api/v1/campaigns', { method: 'POST', body: { name: 'ask first', buildId: v2.id, cohort: { deviceIds: ids }, stages: [{ percent: 100, requiresApproval: false }], failureThreshold: 0.2, successThreshold: 0.9, minSample: 1, confirm: CONFIRM } });
    const text = await res.text();
    expect(res.status, text).toBe(201);
    const campaignId = (JSON.parse(text) as { id: string }).id;
    expect((await call(`/api/v1/campaigns/${campaignId}/start`, { method: 'POST', body: {} })).status).toBe(200);
    for (const agent of agents) await agent.runOnce();
    const view = (await (await call(`/api/v1/campaigns/${campaignId}`)).json()) as { state: string; pausedReason?: string | null; stages: Array<{ counts: Record<string, number> }> };
    expect(view.stages[0]?.counts).toMatchObject({ succeeded: 2, canceled: 2, failed: 0 });
    expect(view.state).not.toBe('paused');
    expect(agents.map((a) => a.firmwareVersion)).toEqual(['1.0', '1.0', '2.0', '2.0']);
  });

  it('refuses a confirm option it cannot send', async () => {
    await device('confirm-bad', undefined);
    for (const confirm of [{ text: '', maxSeconds: 10 }, { text: 'ok?', maxSeconds: 0 }, { text: 'ok?', maxSeconds: 10, minSeconds: 20 }, { text: 'x'.repeat(1001), maxSeconds: 10 }]) {
      const res = await call('/api/v1/deployments', { method: 'POST', body: { deviceId: 'confirm-bad', buildId: v2.id, confirm } });
      expect(res.status, JSON.stringify(confirm)).toBe(400);
    }
  });
});
