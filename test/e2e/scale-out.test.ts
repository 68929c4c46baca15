// Several fota processes on one data directory (SQLite in WAL mode works across
// processes) and one artifact directory, as issue 13 runs them behind a load balancer:
// servers that leave package jobs to `fota worker`, a worker stopped mid-job whose job
// another worker finishes, and a simulated fleet whose DM sessions take turns between two
// servers. Every process here is a real child process.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { fotaInProcess } from '../support/cli.ts';
import { DELTA_CACHE, fixture, nextBuild, pseudoRandom, tempDir } from '../support/harness.ts';
import { metricValue, parseMetrics } from '../support/metrics.ts';
import { exited, spawnServe, spawnWorker, type ServeProcess, type WorkerProcess } from '../support/serve-process.ts';
import { until } from '../support/until.ts';

const ADMIN = 'scale-out-admin-token-0123456789';
const env = { FOTA_ADMIN_TOKEN: ADMIN };

interface BuildView {
  id: string;
  status: string;
  jobs: { queued: number; running: number; done: number; failed: number };
  packages: Array<{ kind: string; fromVersion: string | null }>;
}

async function call<T>(url: string, path: string, token: string, init: { method?: string; json?: unknown; body?: Uint8Array } = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`${url}${path}`, {
    method: init.method ?? (init.json === undefined && init.body === undefined ? 'GET' : 'POST'),
    headers: { authorization: `Bearer ${token}`, ...(init.json === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(init.json === undefined ? {} : { body: JSON.stringify(init.json) }),
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

async function token(url: string, role: 'manufacturer' | 'operator', name: string): Promise<string> {
  const { status, body } = await call<{ token: string }>(url, '/api/v1/tokens', ADMIN, { json: { role, name, ...(role === 'manufacturer' ? { manufacturer: 'acme' } : {}) } });
  expect(status).toBe(201);
  return body.token;
}

async function upload(url: string, maker: string, model: string, version: string, image: Uint8Array): Promise<string> {
  const { status, body } = await call<{ id: string }>(url, `/api/v1/builds?model=${model}&version=${version}`, maker, { body: image });
  expect(status).toBe(202);
  return body.id;
}

async function build(url: string, id: string): Promise<BuildView> {
  return (await call<BuildView>(url, `/api/v1/builds/${id}`, ADMIN)).body;
}

/** Stops a child process at the end of the test unless it has stopped already. */
function stopAfter<P extends ServeProcess | WorkerProcess>(started: P): P {
  onTestFinished(async () => {
    if (started.child.exitCode === null && started.child.signalCode === null) {
      started.child.kill('SIGTERM');
      await exited(started.child);
    }
  });
  return started;
}

function dirs() {
  const dir = tempDir();
  return { dataDir: join(dir, 'data'), artifactsDir: join(dir, 'artifacts') };
}

function jobRows(dataDir: string): Array<{ id: string; source_build_id: string | null; state: string; lease_owner: string | null; attempts: number }> {
  const db = new Database(join(dataDir, 'fota.db'), { readonly: true });
  try {
    return db.prepare('select id, source_build_id, state, lease_owner, attempts from jobs order by created_at').all() as ReturnType<typeof jobRows>;
  } finally {
    db.close();
  }
}

describe('fota serve --no-jobs and fota worker', () => {
  it('keeps a build processing on a server without jobs until a worker on the same data directory packages it', async () => {
    const where = dirs();
    const server = stopAfter(await spawnServe({ ...where, env, args: ['--no-jobs'] }));
    const maker = await token(server.url, 'manufacturer', 'acme ci');
    const id = await upload(server.url, maker, 'router-w', '1.0', pseudoRandom(200_000, 'worker-v1'));
    // Longer than a runner's poll: a server that ran jobs would have packaged it by now.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await build(server.url, id)).toMatchObject({ status: 'processing', jobs: { queued: 1, running: 0, done: 0 } });

    const worker = stopAfter(await spawnWorker({ ...where, env: { ...env, FOTA_JOB_POLL_MS: '100' }, port: 0 }));
    const ready = await until('the build to settle', () => build(server.url, id), (b) => b.status !== 'processing');
    expect(ready).toMatchObject({ status: 'ready', jobs: { done: 1 }, packages: [{ kind: 'full', fromVersion: null }] });

    // The worker serves only its probes, and says which process it is.
    const workerUrl = worker.url ?? '';
    const health = await fetch(`${workerUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true, database: 'ok', objectStore: 'ok', role: 'worker', process: expect.stringMatching(new RegExp(`:${worker.child.pid}$`)) });
    const metrics = await (await fetch(`${workerUrl}/metrics`)).text();
    expect(metricValue(metrics, 'fota_package_jobs', { state: 'done' })).toBe(1);
    expect(metricValue(metrics, 'fota_worker_jobs_running')).toBe(0);
    expect((await fetch(`${workerUrl}/api/v1/builds`)).status).toBe(404);
    expect((await fetch(`${workerUrl}/dm`, { method: 'POST' })).status).toBe(404);

    worker.child.kill('SIGTERM');
    expect(await exited(worker.child)).toBe(0);
  });

  it('hands the job back when a worker gets SIGTERM mid-diff, and a second worker finishes it at once', async () => {
    const where = dirs();
    const server = stopAfter(await spawnServe({ ...where, env, args: ['--no-jobs'] }));
    const maker = await token(server.url, 'manufacturer', 'esb ci');
    await upload(server.url, maker, 'esb', '0.24.0', await readFile(fixture('0.24.0')));
    const id = await upload(server.url, maker, 'esb', '0.24.1', await readFile(fixture('0.24.1')));
    // A lease far longer than the test: only a released job can be taken over in time.
    const workerEnv = { ...env, FOTA_JOB_POLL_MS: '100', FOTA_JOB_LEASE_MS: '600000' };
    const first = stopAfter(await spawnWorker({ ...where, env: workerEnv }));
    // The delta of two 10 MB images takes its diff seconds: catch it under way.
    const delta = () => jobRows(where.dataDir).find((j) => j.source_build_id !== null);
    await until('the delta job to run', delta, (j) => j?.state === 'running');

    first.child.kill('SIGTERM');
    expect(await exited(first.child)).toBe(0);
    // Back in the queue, claimable by anyone now; the interrupted attempt is not counted. A
    // worker that finished the diff before it stopped would have left the job done: queued
    // is what shows it gave the diff up (no clock asserted: a loaded machine only slows it).
    expect(delta()).toMatchObject({ state: 'queued', lease_owner: null, attempts: 0 });

    // The second worker may take the diff from the fixtures' cache: what counts is that it
    // gets the job at once instead of after the first one's ten-minute lease.
    stopAfter(await spawnWorker({ ...where, env: { ...workerEnv, FOTA_DELTA_CACHE: DELTA_CACHE } }));
    const ready = await until('the build to settle', () => build(server.url, id), (b) => b.status !== 'processing', 60_000);
    expect(ready.status).toBe('ready');
    expect(ready.packages.map((p) => `${p.kind}:${p.fromVersion ?? '-'}`).sort()).toEqual(['bsdiff40:0.24.0', 'full:-']);
    expect(delta()).toMatchObject({ state: 'done', attempts: 1 });
  });
});

describe('fota simulate --server URL1,URL2', () => {
  it('spreads DM sessions over two servers on one data directory, and the fleet updates through both', async () => {
    const where = dirs();
    const allowWebhooks = { ...env, FOTA_WEBHOOK_ALLOW_PRIVATE: 'true' };
    // One after the other: the first creates the database and the master key.
    const a = stopAfter(await spawnServe({ ...where, env: allowWebhooks }));
    const b = stopAfter(await spawnServe({ ...where, env: allowWebhooks }));
    const maker = await token(a.url, 'manufacturer', 'acme ci');
    const operator = await token(b.url, 'operator', 'ops');
    const v1 = pseudoRandom(150_000, 'rr-v1');
    const v2 = nextBuild(v1, 'rr-v2');
    const first = await upload(a.url, maker, 'router-rr', '1.0', v1);
    await until('1.0', () => build(b.url, first), (x) => x.status === 'ready');
    const target = await upload(b.url, maker, 'router-rr', '2.0', v2);
    await until('2.0', () => build(a.url, target), (x) => x.status === 'ready');

    const fleetDir = tempDir();
    const image = join(fleetDir, 'v1.bin');
    await writeFile(image, v1);
    const devices = 6;
    const simulate = fotaInProcess([
      'simulate', '--server', `${a.url},${b.url}`, '--token', operator, '--devices', String(devices), '--model', 'router-rr', '--version', '1.0',
      '--image', image, '--manufacturer', 'acme', '--id-prefix', 'rr-', '--data', join(fleetDir, 'fleet'), '--poll', '0.5',
      '--until-version', '2.0', '--duration', '90',
    ]);
    // The fleet registers itself (on the first server), then the campaign takes it all.
    const ids = Array.from({ length: devices }, (_, i) => `rr-${String(i + 1).padStart(4, '0')}`);
    const registered = async () => (await Promise.all(ids.map(async (id) => (await fetch(`${a.url}/api/v1/devices/${id}`, { headers: { authorization: `Bearer ${operator}` } })).status))).every((s) => s === 200);
    await until('the fleet to register', registered, (all) => all);
    const campaign = await call<{ id: string }>(a.url, '/api/v1/campaigns', operator, {
      json: { name: 'both servers', buildId: target, stages: [{ percent: 100 }], successThreshold: 1, failureThreshold: 0.5, minSample: 1 },
    });
    expect(campaign.status).toBe(201);
    expect((await call(b.url, `/api/v1/campaigns/${campaign.body.id}/start`, operator, { json: {} })).status).toBe(200);

    const result = await simulate;
    const summary = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as { reached: boolean; byVersion: Record<string, number>; errors: number; sessions: number; errorSamples: string[] };
    expect(result.code, `${result.stderr}\n${JSON.stringify(summary)}`).toBe(0);
    expect(summary).toMatchObject({ reached: true, byVersion: { '2.0': devices }, errors: 0 });

    // Each server answered DM messages, and each says who it is.
    const scraped = await Promise.all([a, b].map(async (s) => (await fetch(`${s.url}/metrics`)).text()));
    const dmMessages = scraped.map((text) => parseMetrics(text).filter((m) => m.name === 'fota_http_requests_total' && m.labels.route === '/dm').reduce((n, m) => n + m.value, 0));
    // Sessions alternate; their lengths differ (a poll, a job, a report), not by much.
    const total = (dmMessages[0] ?? 0) + (dmMessages[1] ?? 0);
    expect(total).toBeGreaterThanOrEqual(summary.sessions);
    for (const n of dmMessages) expect(n).toBeGreaterThanOrEqual(total / 4);
    const labels = scraped.map((text) => new Set(parseMetrics(text).map((m) => m.labels.process_id)));
    expect([...(labels[0] ?? [])]).toEqual([expect.stringMatching(new RegExp(`:${a.child.pid}$`))]);
    expect([...(labels[1] ?? [])]).toEqual([expect.stringMatching(new RegExp(`:${b.child.pid}$`))]);
  });
});
