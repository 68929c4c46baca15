// TEMPORARY (i13-pg): the interface helper i13-async defines; replaced by its version at merge.
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import type * as schema from './schema/index.ts';
export type Dialect = 'sqlite' | 'postgres';
export type Q = BetterSQLite3Database<typeof schema>;
export type Tables = typeof schema;
export interface Tx { readonly q: Q; readonly t: Tables; readonly dialect: Dialect }
export interface Store extends Tx {
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
