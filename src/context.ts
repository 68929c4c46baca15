// Builds everything the server needs once (database, artifact store, delta pool, key
// vault, clock, logger) and passes it down. Tests build one in a temp directory.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { Config } from './config.ts';
import { DeltaPool } from './delta/pool.ts';
import { KeyVault } from './signing/vault.ts';
import type { ArtifactStore } from './store/artifacts/artifact-store.ts';
import { createArtifactStore } from './store/artifacts/index.ts';
import { type Db, openDatabase } from './store/db.ts';

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface Context {
  config: Config;
  db: Db;
  artifacts: ArtifactStore;
  pool: DeltaPool;
  vault: KeyVault;
  clock: Clock;
  log: Logger;
  /** Scratch space for job inputs and outputs; emptied at start. */
  workDir: string;
  /** Tells the job runner new jobs are queued (the runner replaces this no-op). */
  wakeJobs: () => void;
}

export async function createContext(config: Config, options: { clock?: Clock; log?: Logger } = {}): Promise<Context> {
  const db = openDatabase(config.dataDir);
  const workDir = join(config.dataDir, 'work');
  rmSync(workDir, { recursive: true, force: true }); // inputs of jobs that died with the last process
  mkdirSync(workDir, { recursive: true });
  return {
    config,
    db,
    artifacts: createArtifactStore({ artifactsDir: config.artifactsDir, ...(config.s3 ? { s3: config.s3 } : {}) }),
    pool: new DeltaPool({ concurrency: config.deltaConcurrency, memoryBudgetBytes: config.deltaMemoryBytes }),
    vault: await KeyVault.open(config.dataDir, config.masterKey),
    clock: options.clock ?? systemClock,
    log: options.log ?? pino({ level: config.logLevel, redact: ['req.headers.authorization', '*.token', '*.secretKey', '*.password'] }),
    workDir,
    wakeJobs: () => {},
  };
}

export function closeContext(ctx: Context): void {
  ctx.db.$client.close();
}
