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
  return { registry, requests, duration };
}
