// Starts a `fota worker`: a process that only runs package jobs (bsdiff and signing)
// against the same database and artifact store as the servers, which then run with
// `--no-jobs`. No DM, API, console or downloads; with a port, /healthz and /metrics so an
// operator can probe it. It hears no signal from the process that queued a job (that is
// another process), so its runner looks for queued jobs every `jobPollMs`.
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { closeContext, type Context, createContext } from './context.ts';
import { createHealthCheck, mountHealth } from './health.ts';
import { createWorkerMetrics, METRICS_REFUSAL, scrapeAllowed } from './metrics.ts';
import { JobRunner } from './packages/pipeline/runner.ts';

export interface RunningWorker {
  ctx: Context;
  runner: JobRunner;
  /** Where /healthz and /metrics are served; undefined without a port. */
  url?: string;
  /** Stops claiming jobs, hands the running ones back to the queue, closes the database. */
  close(): Promise<void>;
}

export interface WorkerOptions {
  /** Serve /healthz and /metrics on this port (0: any free one); none when undefined. */
  port?: number;
  host?: string;
  log?: Logger;
}

export async function startWorker(config: Config, options: WorkerOptions = {}): Promise<RunningWorker> {
  const ctx = await createContext(config, options.log ? { log: options.log } : {});
  const runner = new JobRunner(ctx, { leaseMs: config.jobLeaseMs, pollMs: config.jobPollMs });
  let server: ServerType | undefined;
  let url: string | undefined;
  try {
    if (options.port !== undefined) {
      const app = new Hono();
      const registry = createWorkerMetrics(ctx, () => runner.running);
      mountHealth(app, createHealthCheck(ctx, 'worker'));
      app.get('/metrics', async (c) => {
        if (!scrapeAllowed(ctx.config.metricsToken, c.req.header('authorization'))) return c.json(METRICS_REFUSAL, 401, { 'www-authenticate': 'Bearer' });
        return c.body(await registry.metrics(), 200, { 'content-type': registry.contentType });
      });
      app.notFound((c) => c.json({ error: { code: 'NOT_FOUND', message: 'a fota worker serves only /healthz and /metrics' } }, 404));
      const host = options.host ?? '0.0.0.0';
      const listening = serve({ fetch: app.fetch, port: options.port, hostname: host });
      server = listening;
      await new Promise<void>((resolve, reject) => {
        listening.once('listening', resolve);
        listening.once('error', reject);
      });
      const { port } = listening.address() as AddressInfo;
      url = `http://${host === '0.0.0.0' ? 'localhost' : host}:${port}`;
    }
  } catch (err) {
    await closeContext(ctx);
    throw err;
  }
  runner.start();
  ctx.log.info({ owner: runner.owner, pollMs: config.jobPollMs, ...(url ? { url } : {}) }, 'fota worker running package jobs');
  let closing: Promise<void> | undefined;
  return {
    ctx,
    runner,
    ...(url ? { url } : {}),
    close() {
      closing ??= (async () => {
        await runner.stop();
        if (server) {
          const open = server;
          await new Promise<void>((resolve) => open.close(() => resolve()));
        }
        await closeContext(ctx);
      })();
      return closing;
    },
  };
}
