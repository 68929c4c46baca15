// `fota simulate --bootstrap DIR`: a fleet flashed from an enrollment export. Each
// simulated device starts from its bootstrap file alone, claims its own credentials in its
// first session and keeps polling with them; the share told to lose them is locked out.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readExport } from '../../src/device/simulate/bootstrap.ts';
import { Fleet } from '../../src/device/simulate/fleet.ts';
import type { BatchExport, BatchView } from '../../src/enroll/schemas.ts';
import { pseudoRandom, tempDirFor } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { until } from '../support/until.ts';

let server: TestServer;
let dir: string;

beforeAll(async () => {
  server = await startTestServer();
  dir = tempDirFor('sim-bootstrap', afterAll);
  await writeFile(join(dir, 'v1.bin'), pseudoRandom(4096, 'sim-bootstrap'));
}, 60_000);

async function operator(path: string, method = 'GET', body?: unknown): Promise<Response> {
  return server.api(path, { method, token: server.tokens.operator, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
}

describe('a simulated fleet flashed from an enrollment export', () => {
  it('claims its own credentials, polls with them, and the devices that lose them are locked out', async () => {
    const batch = (await (await operator('/api/v1/enrollments', 'POST', { name: 'sim lot', model: 'sim-meter', count: 20, claim: { name: 'claim-sim' } })).json()) as BatchView;
    const exported = (await (await operator(`/api/v1/enrollments/${batch.id}/export`, 'POST')).json()) as BatchExport;
    const out = join(dir, 'export');
    for (const f of exported.files) {
      await mkdir(dirname(join(out, f.path)), { recursive: true });
      await writeFile(join(out, f.path), f.encoding === 'base64' ? Buffer.from(f.content, 'base64') : f.content);
    }
    const flashed = await readExport(out);
    expect(flashed).toMatchObject({ model: 'sim-meter' });
    expect(flashed.ids).toHaveLength(20);

    const fleet = await Fleet.create({
      server: server.url,
      devices: flashed.ids.length,
      model: flashed.model,
      version: '1.0',
      image: join(dir, 'v1.bin'),
      trust: { keys: [] },
      dataDir: join(dir, 'fleet'),
      bootstrap: flashed,
      loseCredentialsShare: 0.1,
      webhook: false,
      pollSeconds: 0.2,
      jitter: 0,
      firstPollSeconds: 0,
    });
    try {
      fleet.start();
      await until('every device claimed', async () => ((await (await operator(`/api/v1/enrollments/${batch.id}`)).json()) as BatchView).devices, (d) => d.enrolled === 20);
      // Two devices lost their new credentials: every poll of theirs is refused from then on.
      const counts = await until('the locked-out devices fail their polls', () => fleet.counts(), (c) => c.errors >= 4 && c.sessions >= 60);
      expect(counts.errors).toBeGreaterThanOrEqual(4);
    } finally {
      await fleet.stop();
    }
    const summary = fleet.summary();
    expect(summary.errorSamples.join('\n')).toMatch(/Status 401/);
  }, 120_000);

  it('refuses an export directory without a manifest, and a manifest pointing outside it', async () => {
    await expect(readExport(join(dir, 'nowhere'))).rejects.toThrow(/has no manifest\.csv/);
    const bad = join(dir, 'bad');
    await mkdir(bad, { recursive: true });
    await writeFile(join(bad, 'manifest.csv'), 'device_id,model,dm_wbxml\nSN:1,m,../../etc/passwd\n');
    await expect(readExport(bad)).rejects.toThrow(/outside the export/);
  });
});
