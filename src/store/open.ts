// The one place that says which database a configuration opens: PostgreSQL when a URL is
// given (FOTA_DATABASE_URL, --database), else SQLite in the data directory. The
// PostgreSQL store (pg, the pg schema) is loaded only when asked for: a SQLite server
// would carry ~13 MiB of modules it never uses.
import { openSqliteStore } from './sqlite.ts';
import type { Store } from './store.ts';

export interface DatabaseTarget {
  dataDir: string;
  databaseUrl?: string;
}

export async function openStore(target: DatabaseTarget): Promise<Store> {
  if (target.databaseUrl === undefined) return openSqliteStore(target.dataDir);
  return (await import('./postgres.ts')).openPostgresStore(target.databaseUrl);
}
