// `fota worker`: runs package jobs (bsdiff and signing) until SIGINT or SIGTERM, then
// hands the job it is running back to the queue, so that another process takes it over
// at once, and exits.
import { databaseUrlOption, loadConfig } from '../config.ts';
import { startWorker } from '../worker.ts';
import { integerOption, type Output, parseOptions, UsageError } from './io.ts';

export const workerHelp = `Usage: fota worker [--data DIR] [--artifacts DIR] [--port N] [--host 0.0.0.0]
                   [--poll-ms 1000] [--database URL]

Runs package jobs only: each uploaded build's full package and its deltas (bsdiff, then
signing), claimed under a lease in the database shared with the servers, which then run
with fota serve --no-jobs (or FOTA_JOBS=off). No DM, API, console or downloads.

Any number of workers may run: each claims one job at a time per delta slot
(FOTA_DELTA_CONCURRENCY), renews its lease while working, and a job whose worker dies is
claimed again once its lease (FOTA_JOB_LEASE_MS, 30000) runs out. On SIGTERM or Ctrl-C
a worker stops claiming, aborts the jobs it runs and hands them back to the queue (the
attempt is not counted), and exits 0.

  --data DIR, --artifacts DIR   the servers' data directory and artifact store, as for
                                fota serve (FOTA_DATA, FOTA_ARTIFACTS, FOTA_S3_*); the
                                signing keys are sealed under FOTA_MASTER_KEY, else the
                                data directory's master.key: every process needs the same
  --port N                      serve /healthz and /metrics on N (0: any free port);
                                without it the worker listens on no port
  --poll-ms MS                  how often to look for queued jobs (FOTA_JOB_POLL_MS, 1000):
                                jobs are queued by other processes, which cannot wake it
  --database URL                a PostgreSQL database (FOTA_DATABASE_URL); not supported
                                by this version yet
`;

export async function workerCommand(args: string[], io: Output): Promise<number> {
  const { values } = parseOptions(args, {
    data: { type: 'string' },
    artifacts: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    'poll-ms': { type: 'string' },
    database: { type: 'string' },
  });
  if (values.help) return io.out(workerHelp), 0;
  const port = integerOption(values.port, '--port', 0);
  if (port !== undefined && port > 65535) throw new UsageError(`--port must be at most 65535, got ${port}`);
  const pollMs = integerOption(values['poll-ms'], '--poll-ms', 1);
  const config = loadConfig(process.env, {
    ...(values.data ? { dataDir: values.data } : {}),
    ...(values.artifacts ? { artifactsDir: values.artifacts } : {}),
    ...(pollMs === undefined ? {} : { jobPollMs: pollMs }),
    ...(values.database === undefined ? {} : { databaseUrl: databaseUrlOption(values.database, '--database') }),
  });
  const worker = await startWorker(config, { ...(port === undefined ? {} : { port }), ...(values.host ? { host: values.host } : {}) });
  io.out(worker.url ? `fota worker listening on ${worker.url} (/healthz, /metrics)\n` : 'fota worker running (no port: --port N serves /healthz and /metrics)\n');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  io.err('shutting down: handing running jobs back to the queue\n');
  await worker.close();
  return 0;
}
