// The one place that says which database a configuration opens: PostgreSQL when a URL is
// given (FOTA_DATABASE_URL, --database), else SQLite in the data directory.
import { openPostgresStore } from './postgres.ts';
import { openSqliteStore } from './sqlite.ts';
import type { Store } from './store.ts';

export interface DatabaseTarget {
  dataDir: string;
  databaseUrl?: string;
}

export async function openStore(target: DatabaseTarget): Promise<Store> {
  return target.databaseUrl === undefined ? openSqliteStore(target.dataDir) : openPostgresStore(target.databaseUrl);
}
