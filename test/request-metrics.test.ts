// The HTTP request series of /metrics, counted without prom-client until the first scrape
// (src/metrics.ts): a scraper must read exactly what prom-client's own Counter and
// Histogram made of the same requests, bucket bounds included (a request of exactly 5 ms
// is in le="0.005"; one over 10 s only in +Inf).
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RequestCounts, RequestDurations } from '../src/metrics.ts';
import { parseMetrics } from './support/metrics.ts';

const REQUESTS: Array<[method: string, route: string, status: string, seconds: number]> = [
  ['POST', '/dm', '200', 0.003],
  ['POST', '/dm', '200', 0.3],
  ['POST', '/dm', '200', 0.005],
  ['POST', '/dm', '401', 0.0051],
  ['GET', '/api/v1/builds/:id', '404', 10],
  ['GET', '/api/v1/builds/:id', '500', 12.5],
  ['GET', 'unmatched', '404', 0],
  ['GET', 'a "quoted\\" \nroute', '200', 1],
];

/** Every sample as one comparable line: name, labels in name order, value. */
function samples(text: string): string[] {
  return parseMetrics(text)
    .map((s) => `${s.name}{${Object.entries(s.labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}} ${s.value}`)
    .sort();
}

describe('RequestCounts and RequestDurations', () => {
  it('give the series prom-client gives for the same requests', async () => {
    const theirs = new Registry();
    const ours = new Registry();
    for (const registry of [theirs, ours]) registry.setDefaultLabels({ process_id: 'host:1' });
    const counter = new Counter({ name: 'fota_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'] as const, registers: [theirs] });
    const histogram = new Histogram({ name: 'fota_http_request_duration_seconds', help: 'HTTP request duration', labelNames: ['method', 'route'] as const, registers: [theirs] });
    const counts = new RequestCounts();
    const durations = new RequestDurations();
    ours.registerMetric(counts.metric('fota_http_requests_total', 'HTTP requests by route and status'));
    ours.registerMetric(durations.metric('fota_http_request_duration_seconds', 'HTTP request duration'));
    for (const [method, route, status, seconds] of REQUESTS) {
      counter.inc({ method, route, status });
      histogram.observe({ method, route }, seconds);
      counts.inc({ method, route, status });
      durations.observe({ method, route }, seconds);
    }
    const expected = samples(await theirs.metrics());
    expect(expected.length).toBeGreaterThan(40);
    expect(samples(await ours.metrics())).toEqual(expected);
    // And what a scraper reads for one route, spelled out.
    const dm = parseMetrics(await ours.metrics()).filter((s) => s.labels.route === '/dm');
    const bucket = (le: string) => dm.find((s) => s.name === 'fota_http_request_duration_seconds_bucket' && s.labels.le === le)?.value;
    expect([bucket('0.005'), bucket('0.01'), bucket('0.25'), bucket('0.5'), bucket('+Inf')]).toEqual([2, 3, 3, 4, 4]);
  });
});
