// /metrics over real HTTP: every series says which process it comes from, so the numbers
// of several servers and workers behind one load balancer never add up by mistake.
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseMetrics } from './support/metrics.ts';
import { startTestServer } from './support/server.ts';

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
