// The whole FUMO story on real firmware-like images (esbuild releases): a real server on
// loopback, builds uploaded over HTTP, devices registered and deployed through the API,
// and the reference device agent (src/device) updating over OMA DM and the download
// endpoint exactly as a device would: delta or full package, resume after a cut,
// a corrupted chunk fetched again alone, and the refusals a device must make.
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type AgentOptions, DeviceAgent } from '../../src/device/agent.ts';
import { parseTrust } from '../../src/device/trust.ts';
import { generateKey, publicKeyFile } from '../../src/signing/keys.ts';
import type { TrustPolicy } from '../../src/signing/envelope.ts';
import { fota } from '../support/cli.ts';
import { DELTA_CACHE, fixture, pseudoRandom, tempDir } from '../support/harness.ts';
import { type BuildBody, startTestServer, type TestServer } from '../support/server.ts';

const MODEL = 'esbuild-linux-x64';
const PASSWORD = 'device-password-1';

interface Deployment {
  id: string;
  attempts: number;
  deviceId: string;
  packageId: string;
  state: string;
  resultCode: number | null;
  bytesServed: number;
  history: Array<{ state: string; cause: string }>;
}

interface PackageBody {
  id: string;
  kind: string;
  fromVersion: string | null;
  size: number;
  sha256: string;
  payloadSize: number;
}

let server: TestServer;
let target: BuildBody;
let delta: PackageBody;
let full: PackageBody;
let keysJson: string;
let trust: TrustPolicy;

beforeAll(async () => {
  // The delta 0.24.0 -> 0.24.1 comes from the fixtures' delta cache: these tests are about
  // the device and the server delivering it; making it is firmware-fixtures.test.ts's subject.
  server = await startTestServer({ deltaCacheDir: DELTA_CACHE });
  for (const version of ['0.24.0', '0.24.1'] as const) {
    const build = await server.upload(MODEL, version, await readFile(fixture(version)));
    expect(build.status).toBe('ready');
    target = build;
  }
  const packages = target.packages as unknown as PackageBody[];
  const found = { delta: packages.find((p) => p.kind === 'bsdiff40' && p.fromVersion === '0.24.0'), full: packages.find((p) => p.kind === 'full') };
  if (!found.delta || !found.full) throw new Error(`0.24.1 lacks a delta or a full package: ${JSON.stringify(packages)}`);
  delta = found.delta;
  full = found.full;
  keysJson = await (await server.api('/api/v1/manufacturers/acme/keys', { token: server.tokens.operator })).text();
  trust = parseTrust(keysJson, 'served keys');
});

async function register(id: string, firmwareVersion?: string): Promise<void> {
  const res = await server.api('/api/v1/devices', {
    method: 'POST',
    token: server.tokens.operator,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id, model: MODEL, ...(firmwareVersion ? { firmwareVersion } : {}), credentials: { username: id, password: PASSWORD } }),
  });
  expect(res.status).toBe(201);
}

async function deploy(deviceId: string): Promise<{ id: string; packageId: string }> {
  const res = await server.api('/api/v1/deployments', { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ deviceId, buildId: target.id }) });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; packageId: string };
}

async function deployment(id: string): Promise<Deployment> {
  return (await (await server.api(`/api/v1/deployments/${id}`, { token: server.tokens.operator })).json()) as Deployment;
}

/** States in order, repeats folded (markFumoSent records a same-state entry). */
const states = (d: Deployment) => d.history.map((h) => h.state).filter((s, i, all) => s !== all[i - 1]);

async function agentFor(id: string, image: string, version: string, extra: Partial<AgentOptions> = {}): Promise<DeviceAgent> {
  return DeviceAgent.open({
    serverUrl: server.url,
    devId: id,
    model: MODEL,
    username: id,
    password: PASSWORD,
    dataDir: join(tempDir(), 'device'),
    image,
    version,
    trust,
    download: { retryDelayMs: 20 },
    ...extra,
    ...(extra.download ? { download: { retryDelayMs: 20, ...extra.download } } : {}),
  });
}

/** Bytes served are recorded when each response is over: wait until the count settles. */
async function settledDeployment(id: string): Promise<Deployment> {
  let last = await deployment(id);
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const next = await deployment(id);
    if (next.bytesServed === last.bytesServed && i >= 2) return next;
    last = next;
  }
  return last;
}

describe('FUMO with the reference device agent', () => {
  it('updates a device on 0.24.0 to 0.24.1 with the bsdiff40 delta, byte-exact, and the deployment succeeds', async () => {
    await register('fumo-delta', '0.24.0');
    const { id, packageId } = await deploy('fumo-delta');
    expect(packageId).toBe(delta.id);
    const agent = await agentFor('fumo-delta', fixture('0.24.0'), '0.24.0');

    const run = await agent.runOnce();
    expect(run.jobs).toEqual([expect.objectContaining({ operation: 'DownloadAndUpdate', resultCode: 200, correlator: expect.stringContaining(id) })]);
    expect(run.firmwareVersion).toBe('0.24.1');
    expect(agent.fumoState).toBe(100);
    expect((await readFile(agent.activeImagePath())).equals(await readFile(fixture('0.24.1')))).toBe(true);
    expect(agent.activeImagePath()).toMatch(/slot-b\.bin$/);

    const done = await settledDeployment(id);
    expect(done).toMatchObject({ packageId: delta.id, state: 'succeeded', resultCode: 200 });
    expect(states(done)).toEqual(['scheduled', 'commanded', 'downloading', 'installing', 'succeeded']);
    // The header probe and one payload request: every byte of the file once, nothing more.
    expect(done.bytesServed).toBeGreaterThanOrEqual(delta.size);
    expect(done.bytesServed).toBeLessThan(delta.size * 1.02);
    expect(agent.lastDownloader?.requests.map((r) => r.range)).toEqual(['bytes=0-4095', 'bytes=4096-']);
    const device = (await (await server.api('/api/v1/devices/fumo-delta', { token: server.tokens.operator })).json()) as { firmwareVersion: string };
    expect(device.firmwareVersion).toBe('0.24.1');
  });

  it('gives a device on an unknown version the full package (fota device run --once)', async () => {
    await register('fumo-full', '0.23.0');
    const { id, packageId } = await deploy('fumo-full');
    expect(packageId).toBe(full.id);
    const dir = tempDir();
    await writeFile(join(dir, 'keys.json'), keysJson);
    await writeFile(join(dir, 'old.bin'), pseudoRandom(200_000, 'unknown-build'));
    const data = join(dir, 'data');
    const result = await fota([
      'device', 'run', '--once', '--server', server.url, '--id', 'fumo-full', '--model', MODEL, '--username', 'fumo-full', '--password', PASSWORD,
      '--image', join(dir, 'old.bin'), '--version', '0.23.0', '--pubkey', join(dir, 'keys.json'), '--data', data,
    ]);
    expect(result).toMatchObject({ code: 0, stdout: expect.stringContaining('FUMO DownloadAndUpdate: 200 successful') });
    expect(result.stdout).toContain('firmware 0.24.1; FUMO State 100');
    expect((await readFile(join(data, 'active'), 'utf8')).trim()).toBe('b');
    expect((await readFile(join(data, 'slot-b.bin'))).equals(await readFile(fixture('0.24.1')))).toBe(true);
    const done = await settledDeployment(id);
    expect(done).toMatchObject({ packageId: full.id, state: 'succeeded' });
    expect(done.bytesServed).toBeLessThan(full.size * 1.02);
  });

  // A cut costs the server what was in flight: on loopback the kernel buffers take a whole
  // 256 KiB read of the server at once, more than this delta's rest. The agent asks in
  // 16 KiB pieces here, so the count shows what the resume itself fetched.
  it.each([0.3, 0.9])('resumes a download cut at %s of the file: the server serves only the rest', async (fraction) => {
    const deviceId = `fumo-cut-${fraction * 100}`;
    await register(deviceId, '0.24.0');
    const { id } = await deploy(deviceId);
    const cutAt = Math.floor(delta.size * fraction);
    const agent = await agentFor(deviceId, fixture('0.24.0'), '0.24.0', { download: { requestBytes: 16 * 1024, faults: { cutAt: [cutAt] } } });

    const run = await agent.runOnce();
    expect(run.jobs.map((j) => j.resultCode)).toEqual([200]);
    expect((await readFile(agent.activeImagePath())).equals(await readFile(fixture('0.24.1')))).toBe(true);
    const requests = agent.lastDownloader?.requests ?? [];
    const starts = requests.map((r) => Number(/^bytes=(\d+)-/.exec(r.range ?? '')?.[1]));
    // Never backwards: after the cut the agent asks from exactly the byte it has.
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    expect(new Set(starts).size).toBe(starts.length);
    const resumed = requests.findIndex((r) => r.range?.startsWith(`bytes=${cutAt}-`));
    expect(resumed).toBeGreaterThan(1);
    expect(requests[resumed]).toMatchObject({ status: 206, ifRange: `"${delta.sha256}"` });
    expect(requests[resumed - 1]?.bytes).toBeLessThan(16 * 1024);
    expect(requests.reduce((sum, r) => sum + r.bytes, 0)).toBe(delta.size);
    const done = await settledDeployment(id);
    expect(done.state).toBe('succeeded');
    expect(done.bytesServed).toBeLessThan(delta.size * 1.15);
  });

  it('catches a byte corrupted in transit by its chunk hash and fetches only that chunk again', async () => {
    await register('fumo-corrupt', '0.22.0');
    const { id } = await deploy('fumo-corrupt');
    const payloadOffset = full.size - full.payloadSize;
    const chunkSize = 1024 * 1024;
    const bad = 5; // the sixth chunk
    const agent = await agentFor('fumo-corrupt', fixture('0.24.0'), '0.22.0', { download: { faults: { corrupt: [{ offset: payloadOffset + bad * chunkSize + 12_345 }] } } });

    const run = await agent.runOnce();
    expect(run.jobs.map((j) => j.resultCode)).toEqual([200]);
    expect((await readFile(agent.activeImagePath())).equals(await readFile(fixture('0.24.1')))).toBe(true);
    const chunkRange = `bytes=${payloadOffset + bad * chunkSize}-${payloadOffset + (bad + 1) * chunkSize - 1}`;
    expect(agent.lastDownloader?.requests.map((r) => r.range)).toEqual(['bytes=0-4095', 'bytes=4096-', chunkRange]);
    const done = await settledDeployment(id);
    expect(done.state).toBe('succeeded');
    // The file once, plus that one chunk.
    expect(done.bytesServed).toBeGreaterThanOrEqual(full.size + chunkSize);
    expect(done.bytesServed).toBeLessThan(full.size + chunkSize + 64 * 1024);
  });

  it('reports a network failure as 503; the server retries after its backoff and the next download resumes where the last stopped', async () => {
    await register('fumo-retry', '0.24.0');
    const { id } = await deploy('fumo-retry');
    const cutAt = Math.floor(delta.size / 2);
    const agent = await agentFor('fumo-retry', fixture('0.24.0'), '0.24.0', { download: { retries: 0, faults: { cutAt: [cutAt] } } });

    const failed = await agent.runOnce();
    expect(failed.jobs).toEqual([expect.objectContaining({ resultCode: 503 })]);
    expect(agent.fumoState).toBe(20);
    expect(await deployment(id)).toMatchObject({ state: 'scheduled', resultCode: 503, attempts: 1 });

    // Within the backoff the server does not command the device again.
    expect((await agent.runOnce()).jobs).toEqual([]);
    server.clock.advance(server.ctx.config.campaigns.retryBackoffMs + 1000);
    const retried = await agent.runOnce();
    expect(retried.jobs).toEqual([expect.objectContaining({ resultCode: 200, correlator: `${id}.2` })]);
    expect(agent.lastDownloader?.requests.map((r) => r.range)).toEqual([`bytes=${cutAt}-`]);
    expect((await readFile(agent.activeImagePath())).equals(await readFile(fixture('0.24.1')))).toBe(true);
    const done = await settledDeployment(id);
    expect(states(done)).toEqual(['scheduled', 'commanded', 'downloading', 'scheduled', 'commanded', 'downloading', 'installing', 'succeeded']);
  });

  it('continues after the agent is killed mid-download: a new agent on the same data dir resumes and reports', async () => {
    await register('fumo-restart', '0.21.0');
    const { id } = await deploy('fumo-restart');
    const controller = new AbortController();
    const first = await agentFor('fumo-restart', fixture('0.24.0'), '0.21.0', {
      signal: controller.signal,
      download: { onProgress: ({ received }) => received > 4_000_000 && controller.abort() },
    });
    await expect(first.runOnce()).rejects.toThrow();
    const had = first.lastDownloader?.bytesReceived ?? 0;
    expect(first.snapshot()).toMatchObject({ fumoState: 30, job: { operation: 'DownloadAndUpdate', phase: 'downloading' } });
    expect((await deployment(id)).state).toBe('downloading');

    // A new process: the same data dir and settings, no image or version (they are on disk).
    const { signal: _signal, image: _image, version: _version, download: _download, ...settings } = first.options;
    const second = await DeviceAgent.open({ ...settings, download: { retryDelayMs: 20 } });
    expect(second.firmwareVersion).toBe('0.21.0');
    const run = await second.runOnce();
    expect(run.jobs.map((j) => j.resultCode)).toEqual([200]);
    expect(second.lastDownloader?.requests.map((r) => r.range)).toEqual([`bytes=${had}-`]);
    expect((await readFile(second.activeImagePath())).equals(await readFile(fixture('0.24.1')))).toBe(true);
    expect(second.lastDownloader?.bytesReceived).toBe(full.size - had);
    // (bytesServed is not compared here: what the kernel had taken when the first agent was
    // killed, up to megabytes on loopback, counts as served.)
    expect((await settledDeployment(id)).state).toBe('succeeded');
  });

  it('runs a two-step update: Download, report, then Update on the next poll', async () => {
    await register('fumo-two-step', '0.24.0');
    const res = await server.api('/api/v1/deployments', { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ deviceId: 'fumo-two-step', buildId: target.id, mode: 'twoStep' }) });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const agent = await agentFor('fumo-two-step', fixture('0.24.0'), '0.24.0');

    const downloaded = await agent.runOnce();
    expect(downloaded.jobs).toEqual([expect.objectContaining({ operation: 'Download', resultCode: 200 })]);
    expect(downloaded.firmwareVersion).toBe('0.24.0');
    expect(agent.fumoState).toBe(40);
    expect((await deployment(id)).state).toBe('scheduled');

    const updated = await agent.runOnce();
    expect(updated.jobs).toEqual([expect.objectContaining({ operation: 'Update', resultCode: 200 })]);
    expect(updated.firmwareVersion).toBe('0.24.1');
    expect((await readFile(agent.activeImagePath())).equals(await readFile(fixture('0.24.1')))).toBe(true);
    expect((await settledDeployment(id)).state).toBe('succeeded');
  });

  it('refuses with 403 a delta whose source is not the image the device runs, before fetching the payload', async () => {
    await register('fumo-mismatch', '0.24.0');
    const { id } = await deploy('fumo-mismatch');
    const dir = tempDir();
    const odd = join(dir, 'odd.bin');
    await writeFile(odd, pseudoRandom(300_000, 'not-0.24.0'));
    const agent = await agentFor('fumo-mismatch', odd, '0.24.0');

    const run = await agent.runOnce();
    expect(run.jobs).toEqual([expect.objectContaining({ resultCode: 403, reason: expect.stringContaining('sha256') })]);
    expect(run.firmwareVersion).toBe('0.24.0');
    expect((await readFile(agent.activeImagePath())).equals(await readFile(odd))).toBe(true);
    expect(agent.lastDownloader?.requests.map((r) => r.range)).toEqual(['bytes=0-4095']);
    expect(agent.fumoState).toBe(20);
    expect(await settledDeployment(id)).toMatchObject({ state: 'failed', resultCode: 403 });
  });

  it('refuses with 404 a package signed by a key the device does not pin, and never installs it (over WBXML)', async () => {
    await register('fumo-unsigned', '0.24.0');
    const { id } = await deploy('fumo-unsigned');
    const other = generateKey();
    const pinned = parseTrust(JSON.stringify(publicKeyFile(other)), 'other key');
    const agent = await agentFor('fumo-unsigned', fixture('0.24.0'), '0.24.0', { trust: pinned, encoding: 'wbxml' });

    const run = await agent.runOnce();
    expect(run.jobs).toEqual([expect.objectContaining({ resultCode: 404 })]);
    expect(run.firmwareVersion).toBe('0.24.0');
    expect(agent.activeImagePath()).toMatch(/slot-a\.bin$/);
    expect((await readFile(agent.activeImagePath())).equals(await readFile(fixture('0.24.0')))).toBe(true);
    expect(agent.lastDownloader?.requests.map((r) => r.range)).toEqual(['bytes=0-4095']);
    expect(await settledDeployment(id)).toMatchObject({ state: 'failed', resultCode: 404 });
  });

  // Last: it damages the stored delta (and puts it back).
  it('reports 402 for a package whose stored payload is corrupted, after fetching the bad chunk again 3 times', async () => {
    await register('fumo-rotten', '0.24.0');
    const { id } = await deploy('fumo-rotten');
    const object = join(server.ctx.config.artifactsDir, delta.sha256.slice(0, 2), delta.sha256);
    const original = await readFile(object);
    const damaged = Buffer.from(original);
    const at = original.length - 1000; // inside the payload (the last chunk)
    damaged[at] = (damaged[at] ?? 0) ^ 0x55;
    await chmod(object, 0o644);
    await writeFile(object, damaged);
    try {
      const agent = await agentFor('fumo-rotten', fixture('0.24.0'), '0.24.0');
      const run = await agent.runOnce();
      expect(run.jobs).toEqual([expect.objectContaining({ resultCode: 402, reason: expect.stringContaining('failed its hash check 4 times') })]);
      expect(run.firmwareVersion).toBe('0.24.0');
      expect((await readFile(agent.activeImagePath())).equals(await readFile(fixture('0.24.0')))).toBe(true);
      const ranges = agent.lastDownloader?.requests.map((r) => r.range) ?? [];
      expect(ranges.slice(0, 2)).toEqual(['bytes=0-4095', 'bytes=4096-']);
      expect(ranges.slice(2)).toHaveLength(3);
      expect(new Set(ranges.slice(2)).size).toBe(1);
      expect(await settledDeployment(id)).toMatchObject({ state: 'failed', resultCode: 402 });
    } finally {
      await writeFile(object, original);
      await chmod(object, 0o444);
    }
  });
});
