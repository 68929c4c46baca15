// Prometheus metrics: HTTP traffic, the package job queue and the delta pool, DM sessions
// and refusals, FUMO results, bytes served, campaigns, the Package 0 queue, and Node's own
// process metrics (prom-client's defaults: CPU, memory, event loop lag, GC). One
// registry per app (not the global default), so several servers can live in one process.
// Every series carries `process_id` (host:pid), so a scraper of several servers and
// workers behind one load balancer tells their numbers apart.
// prom-client loads with the first scrape, not at start: with its dependencies and the
// default metrics it was some 2 MiB of a listening server's memory (bench/startup.ts),
// which a server nobody scrapes never needs. Until then nothing is lost: every count is kept
// where the work happens (tally.ts, the DM guard) or, for HTTP requests, here, as plain
// numbers read at each scrape. Node's GC and event-loop series begin with the first scrape.
import { createHash, timingSafeEqual } from 'node:crypto';
import { hostname } from 'node:os';
import type { Registry } from 'prom-client';
import type { Context } from './context.ts';
import type { DmGuard } from './dm/session/guard.ts';
import { countJobsByState } from './store/queries/builds.ts';
import { deploymentsOfRecentCampaigns, notificationQueueDepth } from './store/queries/metrics.ts';

type PromClient = typeof import('prom-client');

/** This process among the servers and workers of one installation: `<hostname>:<pid>`. */
export function processId(): string {
  return `${hostname()}:${process.pid}`;
}

/**
 * Whether a scrape may read /metrics: always when no FOTA_METRICS_TOKEN is configured,
 * else only with `Authorization: Bearer <that token>` (compared in constant time).
 */
export function scrapeAllowed(metricsToken: string | undefined, authorization: string | undefined): boolean {
  if (metricsToken === undefined) return true;
  const given = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  if (given === undefined) return false;
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(metricsToken));
}

/** The 401 a scraper without the metrics token gets: says what to send, never the token. */
export const METRICS_REFUSAL = { error: { code: 'UNAUTHORIZED', message: '/metrics needs Authorization: Bearer <FOTA_METRICS_TOKEN>' } } as const;

/** What /metrics serves; prom-client loads with the first call of `metrics()`. */
export interface Scrape {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export interface Metrics {
  registry: Scrape;
  requests: RequestCounts;
  duration: RequestDurations;
}

export function createMetrics(ctx: Context, dmGuard: DmGuard): Metrics {
  const requests = new RequestCounts();
  const duration = new RequestDurations();
  const registry = onFirstScrape(ctx, (prom, registry) => {
    registry.registerMetric(requests.metric('fota_http_requests_total', 'HTTP requests by route and status'));
    registry.registerMetric(duration.metric('fota_http_request_duration_seconds', 'HTTP request duration'));
    dmMetrics(prom, ctx, dmGuard, registry);
    deliveryMetrics(prom, ctx, registry);
  });
  return { registry, requests, duration };
}

/**
 * What a `fota worker` serves on its /metrics: the job queue and the delta pool as a
 * server shows them, and the jobs this process runs now (`running()`).
 */
export function createWorkerMetrics(ctx: Context, running: () => number): Scrape {
  return onFirstScrape(ctx, (prom, registry) => {
    new prom.Gauge({
      name: 'fota_worker_jobs_running',
      help: 'Package jobs this worker process runs now',
      registers: [registry],
      collect() {
        this.set(running());
      },
    });
  });
}

/** prom-client's Registry.PROMETHEUS_CONTENT_TYPE, known before prom-client loads. */
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** A registry made, with prom-client, at the first scrape: the process's metrics, then those `fill` adds. */
function onFirstScrape(ctx: Context, fill: (prom: PromClient, registry: Registry) => void): Scrape {
  let made: Promise<Registry> | undefined;
  return {
    contentType: CONTENT_TYPE,
    async metrics() {
      made ??= import('prom-client').then((prom) => {
        const registry = processRegistry(prom, ctx);
        fill(prom, registry);
        return registry;
      });
      return (await made).metrics();
    },
  };
}

/** A registry labelled with this process, holding what every fota process reports. */
function processRegistry(prom: PromClient, ctx: Context): Registry {
  const registry = new prom.Registry();
  registry.setDefaultLabels({ process_id: processId() });
  // The event-loop lag histogram (nodejs_eventloop_lag_*) samples with a timer: at
  // prom-client's default of 10 ms that timer alone woke an idle server 100 times a second
  // (two epoll waits each: ~200, strace). At 20 ms a stall is still seen once it passes
  // 20 ms, and read at most 20 ms short: enough against a 100 ms goal, at half the wakeups.
  prom.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  new prom.Gauge({
    name: 'fota_package_jobs',
    help: 'Package jobs by state',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      for (const [state, n] of Object.entries(await countJobsByState(ctx.db))) this.set({ state }, n);
    },
  });
  new prom.Gauge({
    name: 'fota_delta_pool_memory_bytes',
    help: 'Memory reserved by running delta jobs, against the budget',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      this.set({ kind: 'in_use' }, ctx.pool.stats().memoryInUse);
      this.set({ kind: 'budget' }, ctx.pool.memoryBudgetBytes);
    },
  });
  return registry;
}

/**
 * What the DM endpoint refused without doing the work: failed authentications, lockouts,
 * and messages refused for an oversized header, an unknown device or a lock. The counts
 * live in the DM endpoint's guard (the DM code does not know Prometheus); they are read at
 * each scrape.
 */
function dmMetrics(prom: PromClient, ctx: Context, dmGuard: DmGuard, registry: Registry): void {
  const counters = dmGuard.counters;
  // Wrong credentials, and the messages refused before their credentials were checked
  // because no such device exists or it (or the address) is locked.
  countedElsewhere(prom, registry, 'fota_dm_auth_failures_total', 'DM authentications that failed, by reason', 'reason', () => ({
    'wrong-credentials': counters.authFailures,
    'unknown-device': counters.refused['unknown-device'],
    locked: counters.refused.locked,
  }));
  countedElsewhere(prom, registry, 'fota_dm_sessions_total', 'DM sessions begun (authenticated first messages)', undefined, () => ctx.tally.dmSessions);
  countedElsewhere(prom, registry, 'fota_dm_auth_lockouts_total', 'Devices and addresses locked after repeated failed DM authentications', 'scope', () => counters.lockouts);
  countedElsewhere(prom, registry, 'fota_dm_messages_refused_total', 'DM messages refused before authentication, by reason', 'reason', () => counters.refused);
  new prom.Gauge({
    name: 'fota_dm_locked_addresses',
    help: 'Client addresses whose DM credentials are not checked at the moment (this process)',
    registers: [registry],
    collect() {
      this.set(dmGuard.lockedAddresses(ctx.clock.now()));
    },
  });
}

/** A Prometheus counter whose total another module keeps, set from it at each scrape: one number, or one per value of `label`. */
function countedElsewhere(prom: PromClient, registry: Registry, name: string, help: string, label: string | undefined, total: () => number | Record<string, number>): void {
  new prom.Counter({
    name,
    help,
    labelNames: label ? [label] : [],
    registers: [registry],
    collect() {
      this.reset();
      const now = total();
      if (typeof now === 'number') this.inc(now);
      else for (const [value, n] of Object.entries(now)) this.inc({ [label ?? 'kind']: value }, n);
    },
  });
}

/** How long a scrape's database counts are reused: a scraper every few seconds costs one grouped count per interval. */
const COUNTS_TTL_MS = 10_000;
/** Campaigns finished this long ago still show, so a dashboard sees how they ended. */
const RECENT_CAMPAIGN_MS = 60 * 60 * 1000;
/** At most this many campaigns get series: labels stay few however many campaigns there were. */
const MAX_CAMPAIGN_SERIES = 20;

/** Delivery: FUMO results, bytes served, deployments of active and recent campaigns, the Package 0 queue. */
function deliveryMetrics(prom: PromClient, ctx: Context, registry: Registry): void {
  const tally = ctx.tally;
  countedElsewhere(prom, registry, 'fota_deployment_results_total', 'FUMO results devices reported, by code (vendor and unknown codes: other)', 'result_code', () => Object.fromEntries(tally.results));
  countedElsewhere(prom, registry, 'fota_download_bytes_total', 'Package bytes served by /dl', undefined, () => tally.downloadBytes);
  countedElsewhere(prom, registry, 'fota_download_sendfile_bytes_total', 'The part of fota_download_bytes_total the kernel sent from the file (sendfile), not copied through the server', undefined, () => tally.sendfileBytes);
  const counts = cached(ctx, async () => ({
    campaigns: await deploymentsOfRecentCampaigns(ctx.db, ctx.clock.now() - RECENT_CAMPAIGN_MS, MAX_CAMPAIGN_SERIES),
    queue: await notificationQueueDepth(ctx.db),
  }));
  new prom.Gauge({
    name: 'fota_campaign_deployments',
    help: 'Deployments of active and recently finished campaigns, by state',
    labelNames: ['campaign', 'state'] as const,
    registers: [registry],
    async collect() {
      const { campaigns } = await counts();
      // Reset first: a campaign that left the window, or a state no longer held, must go.
      this.reset();
      for (const row of campaigns) this.set({ campaign: row.campaign, state: row.state }, row.n);
    },
  });
  new prom.Gauge({
    name: 'fota_notify_queue_depth',
    help: 'Package 0 notifications queued for devices of started stages (all processes)',
    registers: [registry],
    async collect() {
      this.set((await counts()).queue);
    },
  });
}

/** The value of `read`, read again at most every COUNTS_TTL_MS; scrapes at the same time share one read. */
function cached<T>(ctx: Context, read: () => Promise<T>): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    const now = ctx.clock.now();
    if (!last || now - last.at >= COUNTS_TTL_MS) {
      const value = read();
      // A failed read is not kept: the next scrape tries again.
      value.catch(() => {
        if (last?.value === value) last = undefined;
      });
      last = { at: now, value };
    }
    return last.value;
  };
}

/** What registry.registerMetric needs of a metric: its name, and its series at each scrape (as prom-client's own get()). */
type CustomMetric = Parameters<Registry['registerMetric']>[0];
interface Series {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}
function customMetric(name: string, help: string, type: 'counter' | 'histogram', values: () => Series[]): CustomMetric {
  const metric = { name, help, type, get: async () => ({ name, help, type, aggregator: 'sum', values: values() }) };
  return metric as unknown as CustomMetric;
}

type RequestLabels = { method: string; route: string; status: string };
type RouteLabels = { method: string; route: string };

/**
 * HTTP requests by method, route and status, counted with an addition per request (no
 * prom-client until a scrape). The series stay few: Node accepts only known methods, the
 * route is the route's pattern (or "unmatched"), the status one of a few dozen.
 */
export class RequestCounts {
  private readonly counts = new Map<string, { labels: RequestLabels; value: number }>();

  inc(labels: RequestLabels): void {
    const key = `${labels.method}\n${labels.route}\n${labels.status}`;
    const counted = this.counts.get(key);
    if (counted) counted.value++;
    else this.counts.set(key, { labels: { method: labels.method, route: labels.route, status: labels.status }, value: 1 });
  }

  metric(name: string, help: string): CustomMetric {
    return customMetric(name, help, 'counter', () => [...this.counts.values()].map(({ labels, value }) => ({ labels, value })));
  }
}

/** prom-client's default histogram buckets, in seconds: what fota_http_request_duration_seconds always had. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** How long HTTP requests took by method and route, as a Prometheus histogram (prom-client's buckets). */
export class RequestDurations {
  /** Per route: requests in each bucket (not cumulative; the last slot: above the largest bound), their sum and count. */
  private readonly routes = new Map<string, { labels: RouteLabels; buckets: Float64Array; sum: number; count: number }>();

  observe(labels: RouteLabels, seconds: number): void {
    const key = `${labels.method}\n${labels.route}`;
    let route = this.routes.get(key);
    if (!route) this.routes.set(key, (route = { labels: { method: labels.method, route: labels.route }, buckets: new Float64Array(DURATION_BUCKETS.length + 1), sum: 0, count: 0 }));
    let bucket = 0;
    while (bucket < DURATION_BUCKETS.length && seconds > (DURATION_BUCKETS[bucket] as number)) bucket++;
    (route.buckets[bucket] as number)++;
    route.sum += seconds;
    route.count++;
  }

  metric(name: string, help: string): CustomMetric {
    return customMetric(name, help, 'histogram', () =>
      [...this.routes.values()].flatMap(({ labels, buckets, sum, count }) => {
        let cumulative = 0;
        const series: Series[] = DURATION_BUCKETS.map((le, i) => ({ metricName: `${name}_bucket`, labels: { le, ...labels }, value: (cumulative += buckets[i] as number) }));
        series.push({ metricName: `${name}_bucket`, labels: { le: '+Inf', ...labels }, value: count });
        series.push({ metricName: `${name}_sum`, labels, value: sum });
        series.push({ metricName: `${name}_count`, labels, value: count });
        return series;
      }),
    );
  }
}
