// A real cluster, as "Running several nodes" in the README sets one up: PostgreSQL (the
// run's server), an S3 service (s3rver), two `fota serve --no-jobs` processes behind a
// round-robin balancer and `fota worker` processes, every one a child process with a data
// directory of its own. A build uploaded to one node gets its packages from the worker;
// the worker is killed (SIGKILL) in the middle of its diff and a new one takes the job
// over; 200 simulated devices run a staged campaign through the balancer, and the node
// holding the campaign lease is killed mid-campaign. The campaign completes through the
// survivor: every device on the target, one deployment each, every package recorded once.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { startBalancer } from '../support/balancer.ts';
import { fota } from '../support/cli.ts';
import { fixture, type FixtureVersion, tempDir, tempDirFor } from '../support/harness.ts';
import { S3_KEYS, startS3rver } from '../support/s3rver.ts';
import { exited, spawnServe, spawnWorker } from '../support/serve-process.ts';
import { postgresServer, testDatabaseUrl } from '../support/store.ts';
import { until } from '../support/until.ts';

const ADMIN = 'cluster-admin-token-0123456789';
const DEVICES = 200;
const MODEL = 'esb-cluster';

async function call<T>(url: string, path: string, token: string, init: { json?: unknown; body?: Uint8Array } = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`${url}${path}`, {
    method: init.json === undefined && init.body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, ...(init.json === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(init.json === undefined ? {} : { body: JSON.stringify(init.json) }),
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

describe.skipIf(postgresServer() === undefined)('a cluster on PostgreSQL and S3', () => {
  // About a minute alone on 2 cores; several beside the rest of the suite.
  it('completes a staged campaign of 200 devices through the survivor when a node and the worker are killed', { timeout: 600_000 }, async () => {
    const databaseUrl = (await testDatabaseUrl()) ?? '';
    const db = new pg.Client({ connectionString: databaseUrl });
    const s3 = await startS3rver({ directory: tempDirFor('cluster-s3', afterAll) });
    onTestFinished(() => s3.close());
    const children: Array<{ child: import('node:child_process').ChildProcess }> = [];
    onTestFinished(async () => {
      for (const { child } of children) child.kill('SIGKILL');
      await Promise.all(children.map(({ child }) => exited(child)));
    });
    // The balancer's address is what devices and download links use; the nodes behind it
    // are given it as their public URL, so they start after it has a port.
    const backends: string[] = [];
    const balancer = await startBalancer(backends);
    onTestFinished(() => balancer.close());
    const masterKey = randomBytes(32).toString('hex');
    const env = {
      FOTA_DATABASE_URL: databaseUrl,
      FOTA_MASTER_KEY: masterKey,
      FOTA_ADMIN_TOKEN: ADMIN,
      FOTA_S3_ENDPOINT: `http://127.0.0.1:${s3.port}`,
      FOTA_S3_BUCKET: 'fota-cluster',
      FOTA_S3_ACCESS_KEY: S3_KEYS.accessKey,
      FOTA_S3_SECRET_KEY: S3_KEYS.secretKey,
      FOTA_PUBLIC_URL: balancer.url,
      FOTA_WEBHOOK_ALLOW_PRIVATE: 'true',
      // Every device comes from the balancer's address: no per-address limit behind a proxy.
      FOTA_DM_ADDRESS_MAX_FAILURES: '0',
      FOTA_LEASE_MS: '3000',
      FOTA_JOB_LEASE_MS: '3000',
      FOTA_JOB_POLL_MS: '200',
      FOTA_CAMPAIGN_TICK_MS: '500',
      FOTA_CAMPAIGN_EVALUATE_MS: '200',
    };
    const node = async () => {
      const started = await spawnServe({ dataDir: join(tempDir(), 'data'), artifactsDir: join(tempDir(), 'artifacts'), env, args: ['--no-jobs'] });
      children.push(started);
      return started;
    };
    const worker = async () => {
      const started = await spawnWorker({ dataDir: join(tempDir(), 'data'), env });
      children.push(started);
      return started;
    };
    const a = await node();
    const b = await node();
    backends.push(a.url, b.url);
    await db.connect();
    onTestFinished(() => db.end());
    const maker = (await call<{ token: string }>(balancer.url, '/api/v1/tokens', ADMIN, { json: { role: 'manufacturer', name: 'ci', manufacturer: 'acme' } })).body.token;
    const operator = (await call<{ token: string }>(balancer.url, '/api/v1/tokens', ADMIN, { json: { role: 'operator', name: 'ops' } })).body.token;

    // The console session works on any node: signed in on a, used on b, signed out on b, dead on a.
    const form = (url: string, path: string, fields: Record<string, string>, cookie?: string) =>
      fetch(`${url}${path}`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: balancer.url, ...(cookie ? { cookie } : {}) }, body: new URLSearchParams(fields).toString() });
    const signedIn = await form(a.url, '/login', { token: operator });
    expect(signedIn.status).toBe(303);
    const cookie = signedIn.headers.getSetCookie().find((c) => c.startsWith('fota_console='))?.split(';')[0] ?? '';
    const page = (url: string) => fetch(`${url}/`, { redirect: 'manual', headers: { cookie } });
    expect((await page(b.url)).status).toBe(200);
    expect((await form(b.url, '/logout', {}, cookie)).status).toBe(303);
    expect((await page(a.url)).headers.get('location')).toMatch(/^\/login/);

    // Builds go to node a; their packages come from the worker. The first worker dies mid-diff.
    const firstWorker = await worker();
    const upload = async (version: FixtureVersion) => {
      const res = await call<{ id: string }>(a.url, `/api/v1/builds?model=${MODEL}&version=${version}`, maker, { body: await readFile(fixture(version)) });
      expect(res.status).toBe(202);
      return res.body.id;
    };
    const build = (id: string) => call<{ status: string; jobs: { running: number } }>(b.url, `/api/v1/builds/${id}`, ADMIN).then((r) => r.body);
    const base = await upload('0.24.0');
    await until('the base build', () => build(base), (x) => x.status === 'ready', 120_000);
    const target = await upload('0.25.0');
    await until('a diff under way', () => build(target), (x) => x.jobs.running > 0, 120_000);
    firstWorker.child.kill('SIGKILL');
    await exited(firstWorker.child);
    const held = await db.query("select count(*)::int n from jobs where build_id = $1 and state = 'running'", [target]);
    expect(held.rows[0].n).toBeGreaterThan(0);
    await worker();
    const ready = await until('the target build', () => build(target), (x) => x.status !== 'processing', 120_000);
    expect(ready.status).toBe('ready');

    // The fleet, through the balancer.
    const fleetDir = tempDir();
    const simulate = fota(
      ['simulate', '--server', balancer.url, '--token', operator, '--devices', String(DEVICES), '--model', MODEL, '--version', '0.24.0', '--image', fixture('0.24.0'), '--manufacturer', 'acme', '--id-prefix', 'cl-', '--data', join(fleetDir, 'fleet'), '--poll', '1', '--until-version', '0.25.0', '--duration', '400', '--status-every', '10'],
      { env: { FOTA_LOG_LEVEL: 'warn' } },
    );
    await until('the fleet to register', () => db.query('select count(*)::int n from devices').then((r) => r.rows[0].n as number), (n) => n === DEVICES, 120_000);
    const created = await call<{ id: string }>(balancer.url, '/api/v1/campaigns', operator, {
      json: { name: 'cluster', buildId: target, stages: [{ percent: 10 }, { percent: 50 }, { percent: 100 }], successThreshold: 0.9, failureThreshold: 0.1, minSample: 5 },
    });
    expect(created.status).toBe(201);
    const campaignId = created.body.id;
    expect((await call(balancer.url, `/api/v1/campaigns/${campaignId}/start`, operator, { json: {} })).status).toBe(200);

    // Mid-campaign, the node holding the campaign lease dies.
    const succeeded = () => db.query("select count(*)::int n from deployments where campaign_id = $1 and state = 'succeeded'", [campaignId]).then((r) => r.rows[0].n as number);
    await until('the first stage to succeed', succeeded, (n) => n >= DEVICES / 10, 300_000);
    const lease = await db.query("select holder from leases where name = 'campaigns'");
    const holderPid = Number(String(lease.rows[0]?.holder ?? '').split(':')[1]);
    const victim = [a, b].find((n) => n.child.pid === holderPid);
    expect(victim, `lease holder ${lease.rows[0]?.holder}`).toBeDefined();
    const survivor = victim === a ? b : a;
    victim?.child.kill('SIGKILL');
    await exited(victim?.child ?? a.child);
    const answeredBefore = balancer.answered.get(survivor.url) ?? 0;

    const result = await simulate;
    const summary = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as { reached: boolean; byVersion: Record<string, number> };
    expect(result.code, `${result.stderr.slice(-2000)}\n${JSON.stringify(summary)}`).toBe(0);
    expect(summary).toMatchObject({ reached: true, byVersion: { '0.25.0': DEVICES } });
    const view = await until(
      'the campaign to complete',
      () => call<{ state: string }>(survivor.url, `/api/v1/campaigns/${campaignId}`, operator).then((r) => r.body),
      (c) => c.state === 'completed',
      120_000,
    );
    expect(view.state).toBe('completed');
    expect(balancer.answered.get(survivor.url) ?? 0).toBeGreaterThan(answeredBefore);
    // The survivor took the campaign work over.
    const holder = await db.query("select holder from leases where name = 'campaigns'");
    expect(Number(String(holder.rows[0]?.holder).split(':')[1])).toBe(survivor.child.pid);

    // One deployment per device, every one succeeded; nothing duplicated or lost.
    const deployments = await db.query("select count(*)::int n, count(distinct device_id)::int devices, sum(case when state = 'succeeded' then 1 else 0 end)::int ok from deployments where campaign_id = $1", [campaignId]);
    expect(deployments.rows[0]).toEqual({ n: DEVICES, devices: DEVICES, ok: DEVICES });
    const versions = await db.query("select firmware_version v, count(*)::int n from devices group by firmware_version");
    expect(versions.rows).toEqual([{ v: '0.25.0', n: DEVICES }]);
    // Every package recorded once, and every job done once.
    const packages = await db.query('select kind, from_version, count(*)::int n from packages where build_id = $1 group by kind, from_version order by kind', [target]);
    expect(packages.rows.map((p) => p.n)).toEqual(packages.rows.map(() => 1));
    expect(packages.rows.map((p) => p.kind).sort()).toEqual(['bsdiff40', 'full']);
    const jobs = await db.query('select state, count(*)::int n from jobs where build_id = $1 group by state', [target]);
    expect(jobs.rows).toEqual([{ state: 'done', n: packages.rows.length }]);
  });
});
