// Prometheus metrics: HTTP traffic, the package job queue and the delta pool. One
// registry per app (not the global default), so several servers can live in one process.
import { Counter, Histogram, Registry, Gauge } from 'prom-client';
import type { Context } from '../context.ts';
import { countJobsByState } from '../store/queries/builds.ts';

export interface Metrics {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route'>;
}

export function createMetrics(ctx: Context): Metrics {
  const registry = new Registry();
  const requests = new Counter({ name: 'fota_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'] as const, registers: [registry] });
  const duration = new Histogram({ name: 'fota_http_request_duration_seconds', help: 'HTTP request duration', labelNames: ['method', 'route'] as const, registers: [registry] });
  new Gauge({
    name: 'fota_package_jobs',
    help: 'Package jobs by state',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      for (const [state, n] of Object.entries(countJobsByState(ctx.db))) this.set({ state }, n);
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
  dmMetrics(ctx, registry);
  return { registry, requests, duration };
}

/**
 * What the DM endpoint refused without doing the work: failed authentications, lockouts,
 * and messages refused for an oversized header, an unknown device or a lock. The counts
 * live in the context's DmGuard (the DM code does not know Prometheus); they are read at
 * each scrape.
 */
function dmMetrics(ctx: Context, registry: Registry): void {
  const counters = ctx.dmGuard.counters;
  new Counter({
    name: 'fota_dm_auth_failures_total',
    help: 'DM messages whose credentials were wrong',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(counters.authFailures);
    },
  });
  new Counter({
    name: 'fota_dm_auth_lockouts_total',
    help: 'Devices and addresses locked after repeated failed DM authentications',
    labelNames: ['scope'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [scope, n] of Object.entries(counters.lockouts)) this.inc({ scope }, n);
    },
  });
  new Counter({
    name: 'fota_dm_messages_refused_total',
    help: 'DM messages refused before authentication, by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(counters.refused)) this.inc({ reason }, n);
    },
  });
  new Gauge({
    name: 'fota_dm_locked_addresses',
    help: 'Client addresses whose DM credentials are not checked at the moment (this process)',
    registers: [registry],
    collect() {
      this.set(ctx.dmGuard.lockedAddresses(ctx.clock.now()));
    },
  });
}
