// Starts a whole server: context, first admin token, job runner, campaign engine, HTTP listener, and a
// graceful stop (stop listening, hand running jobs back to the queue, close the database).
// With `config.jobs` off (`fota serve --no-jobs`) the runner never starts: `fota worker`
// processes (worker.ts) run the package jobs instead.
// The context's signals reach the background workers here and only here.
// Once listening, it sweeps artifacts no row references, in the background.
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import type { Logger } from 'pino';
import { startArtifactSweep } from './artifacts/sweep-at-start.ts';
import { type CampaignLoop, startCampaignLoop } from './campaigns/loop.ts';
import type { Config } from './config.ts';
import { type Clock, closeContext, type Context, createContext } from './context.ts';
import type { Notifier } from './omadm/notifier.ts';
import { sweepDmSessions } from './dm/session/expire.ts';
import { expireQueries } from './devices/helpdesk/cancel.ts';
import { DmGuard } from './dm/session/guard.ts';
import { JobRunner, type RunnerOptions } from './packages/pipeline/runner.ts';
import { createHttp } from './server.ts';
import { bootstrapAdmin } from './tokens/tokens.ts';

export interface RunningServer {
  url: string;
  ctx: Context;
  runner: JobRunner;
  /** The campaign engine's timers; `idle()` waits for what requests signalled to be evaluated. */
  campaigns: CampaignLoop;
  /** The DM endpoint's in-memory state: per-address failures, unknown-device tallies, counters. */
  dmGuard: DmGuard;
  /** Set only on a first start without FOTA_ADMIN_TOKEN: print it once. */
  adminToken?: string;
  close(): Promise<void>;
}

export async function startServer(config: Config, options: { host?: string; log?: Logger; runner?: RunnerOptions; clock?: Clock; notifier?: Notifier } = {}): Promise<RunningServer> {
  const ctx = await createContext(config, { ...(options.log ? { log: options.log } : {}), ...(options.clock ? { clock: options.clock } : {}), ...(options.notifier ? { notifier: options.notifier } : {}) });
  await ctx.artifacts.cleanStaging?.();
  const adminToken = await bootstrapAdmin(ctx);
  const runner = new JobRunner(ctx, options.runner);
  if (config.jobs) runner.start();
  const dmGuard = new DmGuard(config.dm.auth);
  let sweeping: Promise<unknown> = Promise.resolve();
  const sweeper = setInterval(() => {
    // A busy database now is no reason to stop the server; the next sweep tries again.
    sweeping = sweepDmSessions(ctx, dmGuard)
      .catch((err: unknown) => ctx.log.error({ err }, 'DM session sweep failed'))
      // Helpdesk queries a device never picked up (devices/helpdesk/cancel.ts).
      .then(() => expireQueries(ctx))
      .catch((err: unknown) => ctx.log.error({ err }, 'helpdesk query expiry failed'));
  }, 30_000);
  sweeper.unref();
  const campaigns = startCampaignLoop(ctx);
  const listening = [
    ...(config.jobs ? [ctx.signals.on('jobs-queued', () => runner.wake())] : []),
    ctx.signals.on('campaign-moved', ({ campaignId }) => campaigns.moved(campaignId)),
    ctx.signals.on('device-seen', ({ deviceId }) => campaigns.seen(deviceId)),
  ];
  const host = options.host ?? '0.0.0.0';
  // Node's server with the app's listener (server.ts), not @hono/node-server's serve():
  // DM messages never go through the web fetch classes, which load with the first
  // request that needs them.
  const http = createHttp(ctx, { dmGuard });
  const server = createServer(http.listener);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
      server.listen(config.port, host);
    });
  } catch (err) {
    // A busy port: undo what started, so the process can say so and exit (`fota` names --port).
    clearInterval(sweeper);
    for (const stopListening of listening) stopListening();
    await campaigns.stop();
    await runner.stop();
    await closeContext(ctx);
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://${host === '0.0.0.0' ? 'localhost' : host}:${port}`;
  ctx.log.info({ url }, 'fota listening');
  const artifactSweep = startArtifactSweep(ctx);
  let closing: Promise<void> | undefined;
  return {
    url,
    ctx,
    runner,
    campaigns,
    dmGuard,
    ...(adminToken ? { adminToken } : {}),
    close() {
      closing ??= (async () => {
        clearInterval(sweeper);
        await sweeping;
        await new Promise<void>((resolve) => server.close(() => resolve()));
        // The last downloads' bytes served, batched (download/served-ledger.ts).
        await http.settle();
        for (const stopListening of listening) stopListening();
        await campaigns.stop();
        await runner.stop();
        await artifactSweep.stop();
        await closeContext(ctx);
      })();
      return closing;
    },
  };
}
