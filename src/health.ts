// /healthz for `fota serve` and `fota worker`: whether this process can reach what it
// needs, the database and the object store, so a load balancer takes a process that
// cannot out of rotation. Public, so it says which part fails and nothing more: no
// endpoint, path or error text (those go to the log), and it answers within the
// configured timeout however long a part takes.
import type { Env, Hono } from 'hono';
import type { Context } from './context.ts';
import { processId } from './metrics.ts';

export type PartHealth = 'ok' | 'unreachable' | 'timeout';

export interface Health {
  ok: boolean;
  database: PartHealth;
  objectStore: PartHealth;
  /** What this process is: a whole server, or a worker that runs package jobs only. */
  role: 'server' | 'worker';
  /** As the `process_id` label of /metrics. */
  process: string;
}

type Part = 'database' | 'objectStore';

/** Checks both parts at once; a part that has not answered after `healthTimeoutMs` is a timeout. */
export function createHealthCheck(ctx: Context, role: Health['role']): () => Promise<Health> {
  const probes: Record<Part, () => Promise<void>> = {
    // A statement on the store's connection (SQLite's file, a PostgreSQL server).
    database: () => ctx.db.ping(),
    objectStore: () => ctx.artifacts.ping(),
  };
  // One probe of each part at a time: a load balancer that probes every second must not
  // pile up requests behind an object store that hangs.
  const inFlight = new Map<Part, Promise<PartHealth>>();
  const probe = (part: Part): Promise<PartHealth> => {
    let pending = inFlight.get(part);
    if (!pending) {
      pending = probes[part]()
        .then(
          () => 'ok' as const,
          (err: unknown) => {
            ctx.log.warn({ part, err }, 'health check failed');
            return 'unreachable' as const;
          },
        )
        .finally(() => inFlight.delete(part));
      inFlight.set(part, pending);
    }
    return withTimeout(pending, ctx.config.healthTimeoutMs, () => {
      ctx.log.warn({ part, timeoutMs: ctx.config.healthTimeoutMs }, 'health check timed out');
      return 'timeout';
    });
  };
  return async () => {
    const [database, objectStore] = await Promise.all([probe('database'), probe('objectStore')]);
    return { ok: database === 'ok' && objectStore === 'ok', database, objectStore, role, process: processId() };
  };
}

/** GET /healthz: 200 with the parts when all are ok, else 503 with the same body. */
export function mountHealth<E extends Env>(app: Hono<E>, check: () => Promise<Health>): void {
  app.get('/healthz', async (c) => {
    const health = await check();
    c.header('cache-control', 'no-store');
    return c.json(health, health.ok ? 200 : 503);
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(onTimeout()), ms);
    void promise.then((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}
