// Builds everything the server needs once (database, artifact store, delta pool, key
// vault, clock, logger) and passes it down. Tests build one in a temp directory.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { type Config, DOWNLOAD_REDIRECT_NEEDS_S3 } from './config.ts';
import { AppError } from './errors.ts';
import { leftByGoneProcess } from './files.ts';
import { DeltaPool } from './delta/pool.ts';
import { type Notifier, WebhookNotifier } from './omadm/notifier.ts';
import { createSignals, type Signals } from './signals.ts';
import { KeyVault } from './signing/vault.ts';
import type { ArtifactStore } from './store/artifacts/artifact-store.ts';
import { createArtifactStore } from './store/artifacts/index.ts';
import { openStore } from './store/open.ts';
import type { Store } from './store/store.ts';
import { Tally } from './tally.ts';

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface Context {
  config: Config;
  db: Store;
  artifacts: ArtifactStore;
  pool: DeltaPool;
  vault: KeyVault;
  clock: Clock;
  log: Logger;
  /** This process's scratch space for job inputs and outputs; removed on close. */
  workDir: string;
  /** Delivers Package 0 notifications (a webhook, or none: devices then poll). */
  notifier: Notifier;
  /** What happened, for the background workers start.ts subscribes (jobs, campaigns). */
  signals: Signals;
  /** This process among those sharing the database: host, pid and a random part (lease holder, job owner). */
  instance: string;
  /** Counts kept where the work happens, read by /metrics. */
  tally: Tally;
}

export async function createContext(config: Config, options: { clock?: Clock; log?: Logger; notifier?: Notifier } = {}): Promise<Context> {
  if (config.databaseUrl !== undefined && config.masterKey === undefined) {
    // Every process sharing the database seals and opens signing keys and device secrets
    // with the master key: a key file made by one process in its own data directory would
    // leave the others unable to open what it sealed.
    throw new AppError('VALIDATION', 'configuration: with a PostgreSQL database, give every process the same FOTA_MASTER_KEY (32 bytes, hex or base64; e.g. openssl rand -hex 32)');
  }
  // Checked again here: a configuration built in code may ask for it without FOTA_S3_*.
  if (config.download.redirect === 's3' && !config.s3) throw new AppError('VALIDATION', DOWNLOAD_REDIRECT_NEEDS_S3);
  // The data directory holds the master key file (unless given), SQLite and the work dirs.
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const vault = await KeyVault.open(config.dataDir, config.masterKey);
  const db = await openStore(config);
  const workDir = makeWorkDir(join(config.dataDir, 'work'));
  const log = options.log ?? pino({ level: config.logLevel, redact: ['req.headers.authorization', '*.token', '*.secretKey', '*.password'] });
  return {
    config,
    db,
    artifacts: await createArtifactStore({ artifactsDir: config.artifactsDir, ...(config.s3 ? { s3: config.s3 } : {}) }),
    pool: new DeltaPool({ concurrency: config.deltaConcurrency, memoryBudgetBytes: config.deltaMemoryBytes, cacheDir: config.deltaCacheDir }),
    vault,
    clock: options.clock ?? systemClock,
    log,
    workDir,
    notifier: options.notifier ?? new WebhookNotifier({ ...(config.dm.notifyWebhook ? { globalUrl: config.dm.notifyWebhook } : {}), allowPrivate: config.dm.allowPrivateWebhooks }),
    instance: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    tally: new Tally(),
    signals: createSignals((err, signal) => log.error({ err, signal }, 'a signal listener failed')),
  };
}

export async function closeContext(ctx: Context): Promise<void> {
  await ctx.db.close();
  rmSync(ctx.workDir, { recursive: true, force: true });
}

/**
 * Each server process works in `<root>/<pid>-<random>`, so processes sharing a data
 * directory never touch each other's files; what a gone process left behind (its pid no
 * longer runs, or is ours and so was an earlier process's) is removed here.
 */
function makeWorkDir(root: string): string {
  mkdirSync(root, { recursive: true });
  for (const name of readdirSync(root)) {
    if (leftByGoneProcess(name)) rmSync(join(root, name), { recursive: true, force: true });
  }
  const dir = join(root, `${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(dir);
  return dir;
}
