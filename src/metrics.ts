// Prometheus metrics: HTTP traffic, the package job queue and the delta pool. One
// registry per app (not the global default), so several servers can live in one process.
// Every series carries `process_id` (host:pid), so a scraper of several servers and
// workers behind one load balancer tells their numbers apart.
import { hostname } from 'node:os';
import { Counter, Histogram, Registry, Gauge } from 'prom-client';
import type { Context } from './context.ts';
import type { DmGuard } from './dm/session/guard.ts';
import { countJobsByState } from './store/queries/builds.ts';

/** This process among the servers and workers of one installation: `<hostname>:<pid>`. */
export function processId(): string {
  return `${hostname()}:${process.pid}`;
}

export interface Metrics {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route'>;
}

export function createMetrics(ctx: Context, dmGuard: DmGuard): Metrics {
  const registry = processRegistry(ctx);
  const requests = new Counter({ name: 'fota_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'] as const, registers: [registry] });
  const duration = new Histogram({ name: 'fota_http_request_duration_seconds', help: 'HTTP request duration', labelNames: ['method', 'route'] as const, registers: [registry] });
  dmMetrics(ctx, dmGuard, registry);
  return { registry, requests, duration };
}

/**
 * What a `fota worker` serves on its /metrics: the job queue and the delta pool as a
 * server shows them, and the jobs this process runs now (`running()`).
 */
export function createWorkerMetrics(ctx: Context, running: () => number): Registry {
  const registry = processRegistry(ctx);
  new Gauge({
    name: 'fota_worker_jobs_running',
    help: 'Package jobs this worker process runs now',
    registers: [registry],
    collect() {
      this.set(running());
    },
  });
  return registry;
}

/** A registry labelled with this process, holding what every fota process reports. */
function processRegistry(ctx: Context): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ process_id: processId() });
  new Gauge({
    name: 'fota_package_jobs',
    help: 'Package jobs by state',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      for (const [state, n] of Object.entries(await countJobsByState(ctx.db))) this.set({ state }, n);
    },
  });
  new Gauge({
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
function dmMetrics(ctx: Context, dmGuard: DmGuard, registry: Registry): void {
  const counters = dmGuard.counters;
  countedElsewhere(registry, 'fota_dm_auth_failures_total', 'DM messages whose credentials were wrong', undefined, () => counters.authFailures);
  countedElsewhere(registry, 'fota_dm_auth_lockouts_total', 'Devices and addresses locked after repeated failed DM authentications', 'scope', () => counters.lockouts);
  countedElsewhere(registry, 'fota_dm_messages_refused_total', 'DM messages refused before authentication, by reason', 'reason', () => counters.refused);
  new Gauge({
    name: 'fota_dm_locked_addresses',
    help: 'Client addresses whose DM credentials are not checked at the moment (this process)',
    registers: [registry],
    collect() {
      this.set(dmGuard.lockedAddresses(ctx.clock.now()));
    },
  });
}

/** A Prometheus counter whose total another module keeps, set from it at each scrape: one number, or one per value of `label`. */
function countedElsewhere(registry: Registry, name: string, help: string, label: string | undefined, total: () => number | Record<string, number>): void {
  new Counter({
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
