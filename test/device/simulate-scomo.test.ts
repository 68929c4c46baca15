// The fleet simulator with applications: every device ships with maps 1.0 (--app), the
// model's baseline asks for maps 2.0, and a share of the fleet fails its installs
// (app-install fault): the server reconciles each device over SCOMO, the healthy ones end
// on 2.0 and the faulty ones report SCOMO 1405.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrust } from '../../src/device/trust.ts';
import { parseFaults } from '../../src/device/simulate/faults.ts';
import { Fleet } from '../../src/device/simulate/fleet.ts';
import type { TrustPolicy } from '../../src/signing/envelope.ts';
import { nextBuild, pseudoRandom, tempDir, tempDirFor } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { until } from '../support/until.ts';

const MODEL = 'sim-scomo-model';
const MAPS1 = pseudoRandom(64 * 1024, 'sim-maps-1');
const MAPS2 = nextBuild(MAPS1, 'sim-maps-2');
let server: TestServer;
let trust: TrustPolicy;
let dir: string;

const upload = (version: string, bytes: Buffer) => server.api(`/api/v1/apps?model=${MODEL}&component=com.acme.maps&version=${version}`, { method: 'POST', token: server.tokens.acme, body: bytes, headers: { 'content-type': 'application/octet-stream' } });

beforeAll(async () => {
  server = await startTestServer();
  expect((await upload('1.0', MAPS1)).status).toBe(201);
  expect((await upload('2.0', MAPS2)).status).toBe(201);
  const baseline = await server.api(`/api/v1/baselines/${MODEL}`, { method: 'PUT', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apps: [{ component: 'com.acme.maps', version: '2.0' }] }) });
  expect(baseline.status).toBe(200);
  trust = parseTrust(await (await server.api('/api/v1/manufacturers/acme/keys', { token: server.tokens.operator })).text(), 'served keys');
  dir = tempDirFor('sim-scomo', afterAll);
  await writeFile(join(dir, 'fw.bin'), pseudoRandom(8 * 1024, 'sim-scomo-fw'));
  await writeFile(join(dir, 'maps-1.0.apk'), MAPS1);
});

describe('fota simulate: applications', () => {
  it('reconciles the fleet to the baseline; the app-install share fails with SCOMO 1405', async () => {
    const fleet = await Fleet.create({
      server: server.url,
      api: { server: server.url, token: server.tokens.operator },
      devices: 10,
      model: MODEL,
      manufacturer: 'acme',
      version: '1.0',
      image: join(dir, 'fw.bin'),
      trust,
      dataDir: join(tempDir(), 'fleet'),
      apps: [{ id: 'com.acme.maps', version: '1.0', file: join(dir, 'maps-1.0.apk') }],
      faults: parseFaults('app-install=20%'),
      pollSeconds: 3600,
      firstPollSeconds: 0,
      webhook: false,
      concurrency: 5,
    });
    try {
      fleet.start();
      const counts = await until('every device ran its install', () => fleet.counts(), (c) => (c.appResultsByCode?.['1200'] ?? 0) + (c.appResultsByCode?.['1405'] ?? 0) >= 10, 60_000);
      expect(counts.appResultsByCode).toEqual({ 1200: 8, 1405: 2 });
    } finally {
      await fleet.stop();
    }
    const versions: string[] = [];
    for (let n = 1; n <= 10; n++) {
      const apps = (await (await server.api(`/api/v1/devices/sim-${String(n).padStart(4, '0')}/apps`, { token: server.tokens.operator })).json()) as { components: Array<{ version: string }> };
      versions.push(apps.components[0]?.version ?? 'none');
    }
    expect(versions.sort()).toEqual([...Array(2).fill('1.0'), ...Array(8).fill('2.0')]);
  });
});
