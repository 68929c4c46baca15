// A campaign device's package is chosen when it is commanded, against the firmware it
// reports in that session: a device that moved to another version between the campaign's
// start and its session gets the delta from the version it runs now (the reference agent
// applies it and checks the result against the signed target), and a device already on
// the target is marked succeeded with nothing downloaded.
import { beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { DeviceAgent } from '../../src/device/agent.ts';
import { parseTrust } from '../../src/device/trust.ts';
import type { TrustPolicy } from '../../src/signing/envelope.ts';
import { nextBuild, pseudoRandom, tempDirFor } from '../support/harness.ts';
import { type BuildBody, startTestServer, type TestServer } from '../support/server.ts';

const MODEL = 'gateway-pc';
const PASSWORD = 'device-password-pc';
let server: TestServer;
let dir: string;
let trust: TrustPolicy;
let target: BuildBody;
const images: Record<string, Buffer> = {};

interface PackageBody {
  id: string;
  kind: string;
  fromVersion: string | null;
}

interface Deployment {
  id: string;
  packageId: string | null;
  state: string;
  bytesServed: number;
  history: Array<{ state: string; cause: string }>;
}

beforeAll(async () => {
  dir = tempDirFor('campaign-package-choice', afterAll);
  server = await startTestServer();
  images['1.0'] = pseudoRandom(48 * 1024, 'pc-v1');
  images['1.1'] = nextBuild(images['1.0'], 'pc-1.1');
  images['2.0'] = nextBuild(images['1.1'], 'pc-2.0');
  for (const version of ['1.0', '1.1', '2.0']) {
    const build = await server.upload(MODEL, version, images[version] ?? Buffer.alloc(0));
    expect(build.status).toBe('ready');
    target = build;
  }
  trust = parseTrust(await (await server.api('/api/v1/manufacturers/acme/keys', { token: server.tokens.operator })).text(), 'served keys');
}, 120_000);

const post = async (path: string, body: unknown) => {
  const res = await server.api(path, { method: 'POST', token: server.tokens.operator, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return (await res.json()) as { id: string };
};
const get = async <T>(path: string) => (await (await server.api(path, { token: server.tokens.operator })).json()) as T;

async function agentFor(id: string, version: string): Promise<DeviceAgent> {
  const image = join(dir, `${id}-${version}.bin`);
  await writeFile(image, images[version] ?? Buffer.alloc(0));
  return DeviceAgent.open({ serverUrl: server.url, devId: id, model: MODEL, username: id, password: PASSWORD, dataDir: join(dir, id), image, version, trust, download: { retryDelayMs: 20 } });
}

describe('the package of a campaign device', () => {
  it('is the delta from the version the device runs when commanded, not the one it ran at the start; a device already on the target downloads nothing', async () => {
    for (const id of ['pc-moved', 'pc-current']) await post('/api/v1/devices', { id, model: MODEL, firmwareVersion: '1.0', tags: ['pc'], credentials: { username: id, password: PASSWORD } });
    const { id: campaignId } = await post('/api/v1/campaigns', {
      name: 'package choice',
      buildId: target.id,
      cohort: { tags: ['pc'] },
      stages: [{ percent: 100, requiresApproval: false }],
      successThreshold: 1,
      failureThreshold: 0.5,
      minSample: 1,
    });
    await post(`/api/v1/campaigns/${campaignId}/start`, {});

    // Meanwhile one device moved to 1.1 and the other to 2.0 by other means (a USB stick);
    // the server still has them on 1.0.
    const moved = await agentFor('pc-moved', '1.1');
    const current = await agentFor('pc-current', '2.0');

    const run = await moved.runOnce();
    expect(run.jobs).toEqual([expect.objectContaining({ operation: 'DownloadAndUpdate', resultCode: 200 })]);
    expect(run.firmwareVersion).toBe('2.0');
    // Patched from the image it ran, byte-exact to the target.
    expect((await readFile(moved.activeImagePath())).equals(images['2.0'] ?? Buffer.alloc(0))).toBe(true);
    const packages = (await get<BuildBody>(`/api/v1/builds/${target.id}`)).packages as unknown as PackageBody[];
    const from11 = packages.find((p) => p.kind === 'bsdiff40' && p.fromVersion === '1.1');
    expect(from11).toBeDefined();
    const device = await get<{ deployments: Array<{ id: string }> }>('/api/v1/devices/pc-moved');
    const deployment = await get<Deployment>(`/api/v1/deployments/${device.deployments[0]?.id}`);
    expect(deployment).toMatchObject({ packageId: from11?.id, state: 'succeeded' });

    const idle = await current.runOnce();
    expect(idle.jobs).toEqual([]);
    const other = await get<{ deployments: Array<{ id: string }> }>('/api/v1/devices/pc-current');
    const already = await get<Deployment>(`/api/v1/deployments/${other.deployments[0]?.id}`);
    expect(already).toMatchObject({ state: 'succeeded', packageId: null, bytesServed: 0 });
    expect(already.history.at(-1)?.cause).toBe('device already runs FwV 2.0: nothing to download');

    await server.campaigns.idle();
    await server.campaigns.idle();
    const view = await get<{ state: string; totals: { succeeded: number } }>(`/api/v1/campaigns/${campaignId}`);
    expect(view.totals.succeeded).toBe(2);
  }, 120_000);
});
