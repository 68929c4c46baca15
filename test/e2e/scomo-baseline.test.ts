// SCOMO end to end, over real HTTP and real DM sessions: a manufacturer uploads two
// applications (one in two versions: the second ships as a delta), an operator sets the
// model's baseline (maps 2.0 and chat 1.0; adware forbidden), and 50 reference agents that
// start with maps 1.0 (outdated) and adware (forbidden) call in. Each is reconciled in its
// sessions: maps updated, chat installed, adware removed; where a fault was injected the
// deployment fails with the SCOMO result code the device reported.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceAgent } from '../../src/device/agent.ts';
import type { ScomoFaults } from '../../src/device/scomo.ts';
import { parseTrust } from '../../src/device/trust.ts';
import type { TrustPolicy } from '../../src/signing/envelope.ts';
import { nextBuild, pseudoRandom, tempDirFor } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const MODEL = 'scomo-phone';
const DEVICES = 50;
let server: TestServer;
let trust: TrustPolicy;
const maps1 = pseudoRandom(120_000, 'maps-1');
const maps2 = nextBuild(maps1, 'maps-2');
const chat1 = pseudoRandom(40_000, 'chat-1');
const firmware = pseudoRandom(10_000, 'scomo-fw');

interface AppBody {
  id: string;
  packages: Array<{ id: string; kind: string; fromVersion: string | null }>;
}
interface DeviceApps {
  components: Array<{ component: string; version: string; state: string }>;
  drift: unknown[];
  deployments: Array<{ component: string; operation: string; state: string; resultCode: number | null }>;
}

const uploadApp = async (component: string, version: string, bytes: Buffer, token = server.tokens.acme) =>
  server.api(`/api/v1/apps?model=${MODEL}&component=${component}&version=${version}`, { method: 'POST', token, body: bytes, headers: { 'content-type': 'application/octet-stream' } });

beforeAll(async () => {
  server = await startTestServer();
  expect((await uploadApp('com.acme.maps', '1.0', maps1)).status).toBe(201);
  const second = await uploadApp('com.acme.maps', '2.0', maps2);
  expect(second.status).toBe(201);
  // The second version ships as a delta from the first as well as in full.
  expect(((await second.json()) as AppBody).packages.map((p) => `${p.kind}:${p.fromVersion}`).sort()).toEqual(['bsdiff40:1.0', 'full:null']);
  expect((await uploadApp('com.acme.chat', '1.0', chat1)).status).toBe(201);
  trust = parseTrust(await (await server.api('/api/v1/manufacturers/acme/keys', { token: server.tokens.operator })).text(), 'served keys');
  const baseline = await server.api(`/api/v1/baselines/${MODEL}`, {
    method: 'PUT',
    token: server.tokens.operator,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apps: [{ component: 'com.acme.maps', version: '2.0' }, { component: 'com.acme.chat', version: '1.0' }], forbidden: ['com.shady.adware'] }),
  });
  expect(baseline.status, await baseline.clone().text()).toBe(200);
}, 60_000);

/** Devices 0-4 fail every install (1405), 5-7 cannot remove (1408); the rest are healthy. */
function faultsOf(n: number): ScomoFaults | undefined {
  if (n < 5) return { install: 1405 };
  if (n < 8) return { remove: 1408 };
  return undefined;
}

async function device(n: number, dir: string): Promise<DeviceAgent> {
  const id = `scomo-dev-${n}`;
  const res = await server.api('/api/v1/devices', { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, model: MODEL, firmwareVersion: '1.0', credentials: { username: id, password: 'device-password' } }) });
  expect(res.status, await res.clone().text()).toBe(201);
  const image = join(dir, `${id}.img`);
  await writeFile(image, firmware);
  const faults = faultsOf(n);
  const agent = await DeviceAgent.open({ serverUrl: server.url, devId: id, model: MODEL, username: id, password: 'device-password', dataDir: join(dir, id), image, version: '1.0', trust, ...(faults ? { scomoFailures: faults } : {}) });
  await agent.scomo.preinstall('maps', { id: 'com.acme.maps', version: '1.0' }, maps1);
  await agent.scomo.preinstall('adware', { id: 'com.shady.adware', version: '0.9' }, pseudoRandom(5_000, 'adware'));
  return agent;
}

async function appsOf(n: number): Promise<DeviceApps> {
  const res = await server.api(`/api/v1/devices/scomo-dev-${n}/apps`, { token: server.tokens.operator });
  expect(res.status).toBe(200);
  return (await res.json()) as DeviceApps;
}

describe('baseline reconciliation over SCOMO', () => {
  it('brings 50 devices to the baseline; injected faults fail with their SCOMO result codes', async () => {
    const dir = tempDirFor('scomo-fleet', afterAll);
    const agents = await Promise.all(Array.from({ length: DEVICES }, (_, n) => device(n, dir)));
    // Each device polls twice, ten at a time: the first poll reads the inventory and gets its
    // commands (run after the session, reported in the next); the second finds nothing left.
    const ran = new Map<number, string[]>();
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < agents.length; i += 10) {
        await Promise.all(
          agents.slice(i, i + 10).map(async (a, k) => {
            const run = await a.runOnce();
            ran.set(i + k, [...(ran.get(i + k) ?? []), ...run.apps.map((o) => `${o.operation} ${o.resultCode} ${o.reason}`)]);
          }),
        );
      }
    }

    const failures = new Map<number, number>();
    for (let n = 0; n < DEVICES; n++) {
      const apps = await appsOf(n);
      const installed = Object.fromEntries(apps.components.map((c) => [c.component, c.version]));
      for (const d of apps.deployments) if (d.state === 'failed' && d.resultCode !== null) failures.set(d.resultCode, (failures.get(d.resultCode) ?? 0) + 1);
      expect(apps.deployments.every((d) => d.state === 'succeeded' || d.state === 'failed'), `device ${n}: ${JSON.stringify(apps.deployments)}`).toBe(true);
      if (n < 5) {
        // Installs fail; the removal still happens.
        expect(installed).toEqual({ 'com.acme.maps': '1.0' });
        expect(apps.drift).toHaveLength(2);
      } else if (n < 8) {
        expect(installed).toEqual({ 'com.acme.maps': '2.0', 'com.acme.chat': '1.0', 'com.shady.adware': '0.9' });
        expect(apps.drift).toEqual([{ operation: 'remove', component: 'com.shady.adware' }]);
      } else {
        expect(installed, `device ${n}`).toEqual({ 'com.acme.maps': '2.0', 'com.acme.chat': '1.0' });
        expect(apps.drift).toEqual([]);
      }
    }
    expect(Object.fromEntries(failures)).toEqual({ 1405: 10, 1408: 3 });
    // The device agrees with the server: the update came as a delta and the bytes are the release's.
    const healthy = agents[20];
    expect(healthy?.scomo.state.deployed['maps']).toMatchObject({ version: '2.0', sha256: createHash('sha256').update(maps2).digest('hex') });
    expect(ran.get(20)).toEqual(expect.arrayContaining([expect.stringMatching(/^DownloadInstall 1200 installed com\.acme\.maps 2\.0 \(delta from 1\.0\)$/), expect.stringMatching(/^DownloadInstall 1200 installed com\.acme\.chat 1\.0$/), expect.stringMatching(/^Remove 1200 /)]));
    expect(healthy?.scomo.state.deployed['adware']).toBeUndefined();
  }, 240_000);
});
