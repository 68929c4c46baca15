// /metrics over real HTTP: every series says which process it comes from, so the numbers
// of several servers and workers behind one load balancer never add up by mistake; the
// delivery families move with what devices do (a DM session, a download, a FUMO result,
// a failed authentication, a campaign); Node's own process metrics are there; and with
// FOTA_METRICS_TOKEN set, a scraper without that token gets 401.
import { hostname } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { alertXml, DmTestClient } from './support/dm-test-client.ts';
import { nextBuild, pseudoRandom } from './support/harness.ts';
import { metricValue, parseMetrics } from './support/metrics.ts';
import { startTestServer, type TestServer } from './support/server.ts';

describe('/metrics', () => {
  it('labels every sample with process_id <hostname>:<pid>', async () => {
    const server = await startTestServer();
    await fetch(`${server.url}/healthz`);
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const samples = parseMetrics(await res.text());
    expect(samples.map((s) => s.name)).toEqual(expect.arrayContaining(['fota_http_requests_total', 'fota_package_jobs', 'fota_dm_locked_addresses']));
    expect(new Set(samples.map((s) => s.labels.process_id))).toEqual(new Set([`${hostname()}:${process.pid}`]));
  });
});

describe('/metrics with FOTA_METRICS_TOKEN', () => {
  const METRICS_TOKEN = 'scraper-secret-0123456789abcdef';
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({}, { env: { FOTA_METRICS_TOKEN: METRICS_TOKEN } });
  });

  it('answers 401 without the token, with a wrong one, and with an API token', async () => {
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789abcdef', `Bearer ${server.tokens.admin}`, `Basic ${METRICS_TOKEN}`]) {
      const res = await fetch(`${server.url}/metrics`, authorization ? { headers: { authorization } } : {});
      expect(res.status, authorization).toBe(401);
      const text = await res.text();
      expect(text).not.toContain(METRICS_TOKEN);
      expect(text).not.toContain('fota_http_requests_total');
    }
  });

  it('answers the scraper that sends it', async () => {
    const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(parseMetrics(await res.text()).some((s) => s.name === 'fota_http_requests_total')).toBe(true);
  });
});

describe('delivery metrics', () => {
  const MODEL = 'metrics-router';
  let server: TestServer;
  let target: string;
  beforeAll(async () => {
    server = await startTestServer();
    const v1 = pseudoRandom(60_000, 'metrics-v1');
    for (const [version, image] of [['1.0', v1], ['2.0', nextBuild(v1)]] as const) target = (await server.upload(MODEL, version, image)).id;
  });

  const scrape = async () => {
    // The database counts are cached for a few seconds; the test clock moves past that.
    server.clock.advance(60_000);
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    return res.text();
  };
  const post = (path: string, body: unknown) => server.api(path, { method: 'POST', token: server.tokens.operator, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  /** The value of a counter, 0 while it has no sample yet. */
  const valueOf = (text: string, name: string, labels: Record<string, string> = {}) => (parseMetrics(text).some((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) ? metricValue(text, name, labels) : 0);
  let devices = 0;
  async function device(): Promise<{ id: string; client: DmTestClient }> {
    const id = `metrics-dev-${++devices}`;
    expect((await post('/api/v1/devices', { id, model: MODEL, firmwareVersion: '1.0', tags: ['metrics'], credentials: { username: id, password: 'device-password' } })).status).toBe(201);
    return { id, client: new DmTestClient({ url: `${server.url}/dm`, devId: id, username: id, password: 'device-password', tree: { './DevDetail/FwV': '1.0', './DevDetail/SwV': '1', './DevDetail/HwV': 'A' } }) };
  }

  it('has Node process metrics', async () => {
    const names = new Set(parseMetrics(await scrape()).map((s) => s.name));
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) expect(names, name).toContain(name);
  });

  it('counts DM sessions, bytes served and FUMO results by code as a device updates', async () => {
    const before = await scrape();
    const { id, client } = await device();
    const created = await post('/api/v1/deployments', { deviceId: id, buildId: target });
    expect(created.status).toBe(201);
    const deployment = ((await created.json()) as { id: string }).id;
    expect((await client.session()).end).toBe('completed');
    const url = client.tree.get('./FUMO/fota/DownloadAndUpdate/PkgURL') ?? '';
    const body = new Uint8Array(await (await fetch(url)).arrayBuffer());
    expect(body.length).toBeGreaterThan(0);
    const alert = alertXml('1226', [{ source: './FUMO/fota/DownloadAndUpdate', type: 'org.openmobilealliance.dm.firmwareupdate.downloadandupdate', format: 'int', mark: 'critical', data: '402' }], `${deployment}.1`);
    expect((await client.session({ extra: [alert] })).end).toBe('completed');

    const after = await scrape();
    expect(valueOf(after, 'fota_dm_sessions_total') - valueOf(before, 'fota_dm_sessions_total')).toBe(2);
    expect(valueOf(after, 'fota_download_bytes_total') - valueOf(before, 'fota_download_bytes_total')).toBe(body.length);
    expect(valueOf(after, 'fota_deployment_results_total', { result_code: '402' }) - valueOf(before, 'fota_deployment_results_total', { result_code: '402' })).toBe(1);
  });

  it('counts a failed DM authentication by reason', async () => {
    const before = await scrape();
    const { id } = await device();
    const impostor = new DmTestClient({ url: `${server.url}/dm`, devId: id, username: id, password: 'not-the-password', tree: { './DevDetail/FwV': '1.0' } });
    expect((await impostor.session()).end).toBe('auth-failed');
    const after = await scrape();
    expect(valueOf(after, 'fota_dm_auth_failures_total', { reason: 'wrong-credentials' })).toBeGreaterThan(valueOf(before, 'fota_dm_auth_failures_total', { reason: 'wrong-credentials' }));
    expect(valueOf(after, 'fota_dm_sessions_total')).toBe(valueOf(before, 'fota_dm_sessions_total'));
  });

  it('shows a started campaign’s deployments by state, and the Package 0 queue', async () => {
    for (let i = 0; i < 3; i++) await device();
    const created = await post('/api/v1/campaigns', { name: 'metrics campaign', buildId: target, cohort: { tags: ['metrics'] }, stages: [{ percent: 100 }] });
    expect(created.status, await created.clone().text()).toBe(201);
    const { id } = (await created.json()) as { id: string };
    expect(valueOf(await scrape(), 'fota_campaign_deployments', { campaign: id, state: 'scheduled' })).toBe(0);
    expect((await post(`/api/v1/campaigns/${id}/start`, {})).status).toBe(200);
    await server.campaigns.idle();
    const text = await scrape();
    const states = parseMetrics(text).filter((s) => s.name === 'fota_campaign_deployments' && s.labels.campaign === id);
    // At least the three new devices (the earlier tests' devices may join too).
    expect(states.reduce((sum, s) => sum + s.value, 0)).toBeGreaterThanOrEqual(3);
    expect(valueOf(text, 'fota_campaign_deployments', { campaign: id, state: 'scheduled' })).toBeGreaterThanOrEqual(3);
    expect(parseMetrics(text).filter((s) => s.name === 'fota_notify_queue_depth')).toHaveLength(1);
  });
});
