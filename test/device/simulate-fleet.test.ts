// The fleet simulator against a real server on loopback: simulated devices registered
// through the API with a Package 0 webhook, updated by ad-hoc deployments, sharing their
// images on disk; faults dealt by share end in the FUMO codes they stand for; a Package 0
// makes a device call in before its next poll.
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNotification } from '../../src/omadm/notification.ts';
import { parseTrust } from '../../src/device/trust.ts';
import { FAULT_RESULT, parseFaults } from '../../src/device/simulate/faults.ts';
import { Fleet, type FleetCounts, type FleetOptions, runFleet } from '../../src/device/simulate/fleet.ts';
import type { TrustPolicy } from '../../src/signing/envelope.ts';
import { nextBuild, pseudoRandom, sha256, tempDir, tempDirFor } from '../support/harness.ts';
import { until } from '../support/until.ts';
import { ALLOW_LOOPBACK_WEBHOOKS, type BuildBody, startTestServer, type TestServer } from '../support/server.ts';

const MODEL = 'sim-model';
const BASE = pseudoRandom(256 * 1024, 'sim-base');
// Random bytes appended: the delta payload is tens of KiB, more than the agent's first
// 4 KiB request, so cuts and corruption have payload to land in.
const NEXT = Buffer.concat([nextBuild(BASE, 'sim-next'), pseudoRandom(24 * 1024, 'sim-extra')]);

let server: TestServer;
let target: BuildBody;
let trust: TrustPolicy;
let imagePath: string;

beforeAll(async () => {
  // The simulated devices' webhook listens on 127.0.0.1.
  server = await startTestServer({}, { env: ALLOW_LOOPBACK_WEBHOOKS });
  for (const [version, bytes] of [['1.0.0', BASE], ['1.1.0', NEXT]] as const) {
    const build = await server.upload(MODEL, version, bytes);
    expect(build.status).toBe('ready');
    target = build;
  }
  expect(target.packages.some((p) => p.kind === 'bsdiff40' && p.fromVersion === '1.0.0')).toBe(true);
  trust = parseTrust(await (await server.api('/api/v1/manufacturers/acme/keys', { token: server.tokens.operator })).text(), 'served keys');
  imagePath = join(tempDirFor('sim-image', afterAll), 'base.bin');
  await writeFile(imagePath, BASE);
});

async function fleetOf(devices: number, extra: Partial<FleetOptions> = {}): Promise<Fleet> {
  const fleet = await Fleet.create({
    server: server.url,
    api: { server: server.url, token: server.tokens.operator },
    devices,
    model: MODEL,
    manufacturer: 'acme',
    version: '1.0.0',
    image: imagePath,
    trust,
    dataDir: join(tempDir(), 'fleet'),
    // Nobody polls during a test: every session here is started by a Package 0.
    pollSeconds: 3600,
    firstPollSeconds: 3600,
    retryDelayMs: 20,
    concurrency: 16,
    ...extra,
  });
  return fleet;
}

async function deployAll(ids: string[]): Promise<void> {
  for (const deviceId of ids) {
    const res = await server.api('/api/v1/deployments', { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ deviceId, buildId: target.id }) });
    expect(res.status).toBe(201);
  }
}

async function reach(fleet: Fleet, version: string, ms = 45_000): Promise<boolean> {
  return fleet.until(version, AbortSignal.timeout(ms));
}

describe('fota simulate: the fleet', () => {
  it('a share of the devices asks for an update and gets the release of its cohort; the others stay', async () => {
    const res = await server.api('/api/v1/releases', { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ buildId: target.id, cohort: { tags: ['asks'] } }) });
    expect(res.status).toBe(201);
    const fleet = await fleetOf(10, { idPrefix: 'ask-', tags: ['asks'], requestShare: 0.3, firstPollSeconds: 0, webhook: false });
    try {
      fleet.start();
      const counts = await until('three devices asked and updated', () => fleet.counts(), (c) => c.updateRequests?.asked === 3 && c.byVersion['1.1.0'] === 3 && c.states.idle === 10);
      expect(counts.updateRequests).toEqual({ asked: 3, offered: 3 });
      expect(counts.byVersion).toEqual({ '1.0.0': 7, '1.1.0': 3 });
    } finally {
      await fleet.stop();
    }
  });

  it('updates 50 devices through Package 0 and keeps each distinct image once on disk', async () => {
    const fleet = await fleetOf(50, { idPrefix: 'all-' });
    try {
      expect(fleet.ids.slice(0, 2)).toEqual(['all-0001', 'all-0002']);
      const registered = (await (await server.api('/api/v1/devices/all-0007', { token: server.tokens.operator })).json()) as { firmwareVersion: string };
      expect(registered.firmwareVersion).toBe('1.0.0');
      fleet.start();
      await deployAll(fleet.ids);
      expect(await reach(fleet, '1.1.0')).toBe(true);

      const summary = fleet.summary('1.1.0');
      expect(summary).toMatchObject({ devices: 50, byVersion: { '1.1.0': 50 }, failuresByCode: {}, notifications: 50, errors: 0, reached: true });
      // One bspatch for 50 devices: the same base and the same payload give the same bytes.
      expect(summary.patches).toEqual({ applied: 1, reused: 49 });
      const device = (await (await server.api('/api/v1/devices/all-0042', { token: server.tokens.operator })).json()) as { firmwareVersion: string; deployments: Array<{ state: string; resultCode: number | null }> };
      expect(device.firmwareVersion).toBe('1.1.0');
      expect(device.deployments).toEqual([expect.objectContaining({ state: 'succeeded', resultCode: 200 })]);

      // Two blobs, base and update, each linked from every device's slot: no device holds a copy.
      const dir = fleet.options.dataDir;
      const blobs = await readdir(join(dir, 'images'));
      expect(blobs.sort()).toEqual([sha256(BASE), sha256(NEXT)].sort());
      expect((await stat(join(dir, 'images', sha256(BASE)))).nlink).toBe(51);
      expect((await stat(join(dir, 'images', sha256(NEXT)))).nlink).toBe(51);
      const slotB = join(dir, 'devices', 'all-0013', 'slot-b.bin');
      expect((await stat(slotB)).ino).toBe((await stat(join(dir, 'images', sha256(NEXT)))).ino);
      expect((await readFile(slotB)).equals(NEXT)).toBe(true);
      expect((await readFile(join(dir, 'devices', 'all-0013', 'active'), 'utf8')).trim()).toBe('b');
    } finally {
      await fleet.stop();
    }
    // Counted when each device's run is over (stop() waits for the last ones).
    expect(fleet.counts().jobs).toBe(50);
  });

  it('deals faults by share and each ends in its FUMO code; cut and slow devices still update', async () => {
    const faults = parseFaults('cut=0.1,slow=0.1:64k,corrupt=0.1,wrong-base=0.1,install=0.1,oom=0.1,oom-download=0.1');
    const fleet = await fleetOf(20, { idPrefix: 'flt-', faults });
    try {
      fleet.start();
      await deployAll(fleet.ids);
      expect(await reach(fleet, '1.1.0')).toBe(true);
      const summary = fleet.summary('1.1.0');
      expect(summary.faults).toEqual({
        cut: { devices: 2, expectedResult: null, byVersion: { '1.1.0': 2 }, failuresByCode: {} },
        slow: { devices: 2, expectedResult: null, byVersion: { '1.1.0': 2 }, failuresByCode: {} },
        corrupt: { devices: 2, expectedResult: 402, byVersion: { '1.0.0': 2 }, failuresByCode: { 402: 2 } },
        'wrong-base': { devices: 2, expectedResult: 403, byVersion: { '1.0.0': 2 }, failuresByCode: { 403: 2 } },
        install: { devices: 2, expectedResult: 410, byVersion: { '1.0.0': 2 }, failuresByCode: { 410: 2 } },
        oom: { devices: 2, expectedResult: 502, byVersion: { '1.0.0': 2 }, failuresByCode: { 502: 2 } },
        'oom-download': { devices: 2, expectedResult: 501, byVersion: { '1.0.0': 2 }, failuresByCode: { 501: 2 } },
      });
      expect(summary.byVersion).toEqual({ '1.0.0': 10, '1.1.0': 10 });
      expect(summary.failuresByCode).toEqual({ 402: 2, 403: 2, 410: 2, 501: 2, 502: 2 });

      // The server saw the same codes, and the cut downloads resumed where they stopped.
      for (const id of fleet.ids) {
        const fault = fleet.faultOf(id);
        const device = (await (await server.api(`/api/v1/devices/${id}`, { token: server.tokens.operator })).json()) as { deployments: Array<{ state: string; resultCode: number | null }> };
        const expected = fault ? FAULT_RESULT[fault.kind] : undefined;
        expect(device.deployments[0]).toMatchObject(expected === undefined ? { state: 'succeeded' } : { state: 'failed', resultCode: expected });
        if (fault?.kind === 'cut') {
          const requests = fleet.agent(id)?.lastDownloader?.requests ?? [];
          const starts = requests.map((r) => Number(/^bytes=(\d+)-/.exec(r.range ?? '')?.[1]));
          expect(requests.length).toBeGreaterThanOrEqual(3); // probe, the cut request, the resumed one
          expect(starts).toEqual([...starts].sort((a, b) => a - b));
          expect(requests.at(-1)).toMatchObject({ status: 206, ifRange: expect.any(String) });
        }
      }
      // The wrong-base devices share one altered image: three blobs in all before the update.
      expect((await readdir(join(fleet.options.dataDir, 'images'))).length).toBe(3);
    } finally {
      await fleet.stop();
    }
  });

  it('opens a session as soon as the server sends a Package 0, long before the next poll', async () => {
    const fleet = await fleetOf(2, { idPrefix: 'p0-' });
    try {
      fleet.start();
      expect(fleet.counts().sessions).toBe(0);
      const res = await server.api('/api/v1/devices/p0-0002/notify', { method: 'POST', token: server.tokens.operator });
      expect(await res.json()).toMatchObject({ delivered: true, status: 204 });
      const deadline = Date.now() + 10_000;
      while (fleet.counts().sessions === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(fleet.counts()).toMatchObject({ notifications: 1, sessions: 1, errors: 0 });
      const seen = async (id: string) => ((await (await server.api(`/api/v1/devices/${id}`, { token: server.tokens.operator })).json()) as { lastSeen: string | null }).lastSeen;
      expect(await seen('p0-0002')).not.toBeNull();
      expect(await seen('p0-0001')).toBeNull();
    } finally {
      await fleet.stop();
    }
  });

  it('refuses a Package 0 for a device it does not simulate, one that is not a Package 0, and an oversized one', async () => {
    const fleet = await fleetOf(1, { idPrefix: 'wh-' });
    try {
      const base = fleet.webhookUrl ?? '';
      const package0 = buildNotification({ serverId: 'fota', serverPassword: '', nonce: new Uint8Array(16), sessionId: 7, uiMode: 1 });
      expect((await fetch(`${base}/notify/nobody`, { method: 'POST', body: package0 })).status).toBe(404);
      expect((await fetch(`${base}/notify/wh-0001`, { method: 'POST', body: new Uint8Array(3) })).status).toBe(400);
      expect((await fetch(`${base}/notify/wh-0001`, { method: 'POST', body: new Uint8Array(64 * 1024) })).status).toBe(413);
      expect((await fetch(`${base}/notify/..%2F..%2Fetc`, { method: 'POST', body: package0 })).status).toBe(404);
      expect((await fetch(`${base}/notify/wh-0001`)).status).toBe(405);
      expect(fleet.counts().notifications).toBe(0);
    } finally {
      await fleet.stop();
    }
  });

  it('continues from its data dir: a second run reuses the registered devices and their state', async () => {
    const dataDir = join(tempDir(), 'fleet');
    const first = await fleetOf(3, { idPrefix: 'again-', dataDir });
    await first.stop();
    const second = await fleetOf(3, { idPrefix: 'again-', dataDir });
    try {
      second.start();
      await deployAll(second.ids);
      expect(await reach(second, '1.1.0')).toBe(true);
    } finally {
      await second.stop();
    }
    // A fresh data dir cannot take over devices registered with other credentials.
    await expect(fleetOf(3, { idPrefix: 'again-' })).rejects.toThrow(/already registered/);
  });

  it('runs in process for a program that drives it (runFleet): until a version, with counts as it goes', async () => {
    const seen: FleetCounts[] = [];
    const running = runFleet({
      server: server.url,
      api: { server: server.url, token: server.tokens.operator },
      devices: 4,
      idPrefix: 'lib-',
      model: MODEL,
      version: '1.0.0',
      image: imagePath,
      trust,
      dataDir: join(tempDir(), 'fleet'),
      pollSeconds: 3600,
      firstPollSeconds: 3600,
      untilVersion: '1.1.0',
      durationSeconds: 45,
      statusEverySeconds: 0.1,
      onStatus: (counts) => seen.push(counts),
    });
    // Deployments once the devices exist on the server.
    const ids = ['lib-0001', 'lib-0002', 'lib-0003', 'lib-0004'];
    while ((await server.api('/api/v1/devices/lib-0004', { token: server.tokens.operator })).status !== 200) await new Promise((r) => setTimeout(r, 20));
    await deployAll(ids);
    const summary = await running;
    expect(summary).toMatchObject({ devices: 4, byVersion: { '1.1.0': 4 }, reached: true, untilVersion: '1.1.0', jobs: 4 });
    expect(seen.length).toBeGreaterThan(0);
  });
});
