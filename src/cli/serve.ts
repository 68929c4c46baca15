// `fota serve`: runs the server until SIGINT or SIGTERM, then stops gracefully.
import type { Config } from '../config.ts';
import type { RunningServer } from '../start.ts';
import { integerOption, type Output, parseOptions } from './io.ts';
import { holdYoungGeneration } from './young-generation.ts';

export const serveHelp = `Usage: fota serve [--port 8080] [--host 0.0.0.0] [--data DIR] [--artifacts DIR]
                  [--no-jobs] [--database URL]

Runs the fota server: management API (/api/v1), /metrics, /healthz. On the first start
it prints "admin token: <token>" once, unless FOTA_ADMIN_TOKEN is set. Once listening,
it removes in the background the artifacts no build or package references that were
stored more than FOTA_GC_GRACE_MINUTES (60) minutes ago, as fota gc does.

--no-jobs (or FOTA_JOBS=off) runs no package jobs here: uploads are accepted and their
builds stay "processing" until a fota worker on the same database and artifact store
makes the packages. --database URL (or FOTA_DATABASE_URL) runs on a PostgreSQL database
(postgres://...) instead of SQLite in the data directory, so several processes can share
it (README "Running several nodes").

Environment: FOTA_DATA (./data), FOTA_ARTIFACTS (./artifacts), FOTA_PORT, FOTA_ADMIN_TOKEN,
FOTA_MASTER_KEY, FOTA_S3_ENDPOINT/BUCKET/ACCESS_KEY/SECRET_KEY (artifacts in S3),
FOTA_MAX_UPLOAD_BYTES, FOTA_DELTA_SOURCES (5), FOTA_DELTA_MEMORY_MB, FOTA_DELTA_CONCURRENCY,
FOTA_DELTA_CACHE (a directory where diffs are kept by the content of both images and
reused for the same pair; unset: none, every package job diffs),
FOTA_MAX_DELTA_RATIO (0.6), FOTA_JOB_ATTEMPTS (3), FOTA_JOB_LEASE_MS (30000),
FOTA_JOB_POLL_MS (1000; how often queued jobs are looked for), FOTA_JOBS (on),
FOTA_HEALTH_TIMEOUT_MS (2000; /healthz calls a part that takes longer a timeout), FOTA_LOG_LEVEL,
FOTA_DM_AUTH_MAX_FAILURES (10), FOTA_DM_AUTH_LOCKOUT_SECONDS (300), FOTA_DM_ADDRESS_MAX_FAILURES
(100; 0 = off, e.g. behind a proxy), FOTA_GC_GRACE_MINUTES (60),
FOTA_QUERY_EXPIRY_HOURS (24; a helpdesk query the device has not picked up by then ends),
FOTA_NOTIFY_WEBHOOK (Package 0 for devices without their own webhook; trusted, any address),
FOTA_WEBHOOK_ALLOW_PRIVATE (false: device webhooks on loopback, link-local, private or
CGNAT addresses are refused; true allows them, e.g. for fota simulate on this machine),
FOTA_DATABASE_URL (every process on it needs the same FOTA_MASTER_KEY), FOTA_LEASE_MS (15000; how long the campaign
timers stay with a process of a cluster that stopped renewing their lease),
FOTA_DOWNLOAD_CACHE_MB (32; package bytes kept in memory for /dl from the local artifact directory),
FOTA_DOWNLOAD_REDIRECT (off; s3: /dl checks and counts, then redirects to a presigned URL of the
bucket, which serves the bytes; needs FOTA_S3_*), FOTA_DOWNLOAD_REDIRECT_SECONDS (60; how long
such a URL stays valid), FOTA_DOWNLOAD_SENDFILE (on: local packages go from the file to the socket
in the kernel, where the native addon built at install; off: copied through JavaScript),
FOTA_DOWNLOAD_STALL_SECONDS (60; a download whose client takes no byte for this long is cut off),
FOTA_DOWNLOAD_MAX_PER_DEPLOYMENT (4; downloads of one deployment under way at once in a process;
one more is answered 503 with Retry-After).
`;

export async function serveCommand(args: string[], io: Output): Promise<number> {
  const { values } = parseOptions(args, {
    port: { type: 'string' },
    host: { type: 'string' },
    data: { type: 'string' },
    artifacts: { type: 'string' },
    'no-jobs': { type: 'boolean' },
    database: { type: 'string' },
  });
  if (values.help) return io.out(serveHelp), 0;
  const port = integerOption(values.port, '--port', 0);
  // The server loads with the young generation held at its initial size (young-generation.ts).
  const letGrow = holdYoungGeneration();
  const { config, server } = await startServing(values, port).finally(letGrow);
  io.out(`fota listening on ${server.url}${config.jobs ? '' : ' (no package jobs: run fota worker)'}\n`);
  if (server.adminToken) io.out(`admin token: ${server.adminToken}\n(shown once; keep it, or set FOTA_ADMIN_TOKEN)\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  io.err('shutting down\n');
  await server.close();
  return 0;
}

/** Loads the server's modules (here, not with this file: after holdYoungGeneration), reads the configuration, starts listening. */
async function startServing(values: { host?: string | undefined; data?: string | undefined; artifacts?: string | undefined; 'no-jobs'?: boolean | undefined; database?: string | undefined }, port: number | undefined): Promise<{ config: Config; server: RunningServer }> {
  const [{ databaseUrlOption, loadConfig }, { startServer }] = await Promise.all([import('../config.ts'), import('../start.ts')]);
  const config = loadConfig(process.env, {
    ...(port === undefined ? {} : { port }),
    ...(values.data ? { dataDir: values.data } : {}),
    ...(values.artifacts ? { artifactsDir: values.artifacts } : {}),
    ...(values['no-jobs'] ? { jobs: false } : {}),
    ...(values.database === undefined ? {} : { databaseUrl: databaseUrlOption(values.database, '--database') }),
  });
  const server = await startServer(config, { host: values.host, runner: { leaseMs: config.jobLeaseMs, pollMs: config.jobPollMs } });
  return { config, server };
}
