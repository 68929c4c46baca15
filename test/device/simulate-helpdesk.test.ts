// `fota simulate` devices answer a helpdesk: a query woken by Package 0 through the fleet's
// webhook comes back with the device's applications, its DM account and bearers, and an
// event log of timestamped lines.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from '../../src/device/simulate/fleet.ts';
import type { QueryView } from '../../src/devices/helpdesk/schemas.ts';
import { LOG_NODE } from '../../src/omadm/helpdesk-presets.ts';
import { pseudoRandom, tempDir, tempDirFor } from '../support/harness.ts';
import { ALLOW_LOOPBACK_WEBHOOKS, startTestServer, type TestServer } from '../support/server.ts';
import { until } from '../support/until.ts';

let server: TestServer;
let imagePath: string;

beforeAll(async () => {
  server = await startTestServer({}, { env: ALLOW_LOOPBACK_WEBHOOKS });
  imagePath = join(tempDirFor('sim-helpdesk', afterAll), 'base.bin');
  await writeFile(imagePath, pseudoRandom(8 * 1024, 'sim-helpdesk'));
});

describe('fota simulate and the helpdesk', () => {
  it('a simulated device woken by a query answers every preset', async () => {
    const fleet = await Fleet.create({
      server: server.url,
      api: { server: server.url, token: server.tokens.operator },
      devices: 2,
      idPrefix: 'hd-',
      model: 'sim-helpdesk',
      version: '1.0.0',
      image: imagePath,
      trust: { keys: [] },
      dataDir: join(tempDir(), 'fleet'),
      // Nobody polls: the only session is the one the query's Package 0 starts.
      pollSeconds: 3600,
      firstPollSeconds: 3600,
      concurrency: 4,
    });
    try {
      fleet.start();
      const res = await server.api('/api/v1/devices/hd-0002/queries', { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ presets: ['versions', 'apps', 'connectivity', 'log'] }) });
      expect(res.status).toBe(202);
      const { id } = (await res.json()) as QueryView;
      const q = await until(
        'the simulated device to answer',
        async () => (await (await server.api(`/api/v1/devices/hd-0002/queries/${id}`, { token: server.tokens.operator })).json()) as QueryView,
        (v) => v.state === 'done',
      );
      const value = (uri: string) => q.results.find((r) => r.uri === uri)?.value;
      expect(value('./DevDetail/FwV')).toBe('1.0.0');
      expect(value('./DevDetail/SwV')).toBe('fota-simulate 1');
      expect(value('./SCOMO/Inventory/Deployed/1/ID')).toBe('com.fota.telemetry');
      expect(value('./DMAcc/fota/AppAuth/1/AAuthName')).toBe('hd-0002');
      expect(value('./ConnMO/wlan0/SSID')).toBe('plant-floor-5g');
      expect(value(LOG_NODE)).toMatch(/Z agent started: firmware 1\.0\.0 in slot a$/m);
      expect(q.results.every((r) => r.statusCode === 200)).toBe(true);
    } finally {
      await fleet.stop();
    }
  });
});
