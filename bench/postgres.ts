// The PostgreSQL the benchmarks' --postgres runs use: by default a throwaway cluster they
// start and stop themselves (test/support/postgres.ts: durability settings off); with
// --postgres-url, a server of the user's (e.g. one set up as in production, or one with
// auto_explain configured), on which each run creates a database of its own and drops it
// when it ends normally. The cluster's data directory is found when the server is local
// and readable, so its CPU time can be read from /proc.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { createDatabase, type PostgresServer, postgresBinDir, startPostgres } from '../test/support/postgres.ts';

export interface BenchDatabase {
  /** postgres://… of the run's own database. */
  url: string;
  /** Where the server's postmaster.pid is, when this machine can read it. */
  dataDir?: string;
  /** What the JSON says about the server. */
  server: string;
  /** Synchronous, for an 'exit' handler: stops a cluster the bench started (an external database is left). */
  stopNow(): void;
  /** The normal end: stops the cluster, or drops the database on the external server. */
  close(): Promise<void>;
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function benchDatabase(name: string, serverUrl?: string): Promise<BenchDatabase> {
  if (serverUrl === undefined) {
    const bin = postgresBinDir();
    if (bin === undefined) throw new Error('--postgres needs PostgreSQL (initdb, pg_ctl): apt-get install -y postgresql, or give --postgres-url');
    let cluster: PostgresServer | undefined = await startPostgres(bin);
    const stopNow = () => {
      cluster?.stop();
      cluster = undefined;
    };
    try {
      return { url: await createDatabase(cluster.url, name), dataDir: cluster.dataDir, server: 'a throwaway cluster started by the bench (test/support/postgres.ts: fsync, synchronous_commit and full_page_writes off)', stopNow, close: async () => stopNow() };
    } catch (err) {
      stopNow();
      throw err;
    }
  }
  const database = `${name}_${Date.now().toString(36)}`;
  const url = await createDatabase(serverUrl, database);
  const dataDir = await withClient(url, async (client) => (await client.query<{ dir: string }>("SELECT current_setting('data_directory') AS dir")).rows[0]?.dir).catch(() => undefined);
  const version = await withClient(url, async (client) => (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? '?');
  return {
    url,
    ...(dataDir && existsSync(join(dataDir, 'postmaster.pid')) ? { dataDir } : {}),
    server: `PostgreSQL ${version} at --postgres-url, database ${database}`,
    stopNow: () => console.error(`bench: left database ${database} on the --postgres-url server`),
    close: () => withClient(serverUrl, async (client) => void (await client.query(`DROP DATABASE ${database} WITH (FORCE)`))),
  };
}
