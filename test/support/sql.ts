// Raw SQL in tests, written as text with `?` placeholders: read through the store (outside
// any transaction), written in a transaction of their own. Through the store's dialect
// helpers (src/store/dialect.ts), so a test's look at the rows runs on either dialect.
import { type SQL, sql } from 'drizzle-orm';
import { execute, rows } from '../../src/store/dialect.ts';
import type { Store, Tx } from '../../src/store/store.ts';

function query(text: string, params: unknown[]): SQL {
  const parts = text.split('?');
  if (parts.length !== params.length + 1) throw new Error(`${parts.length - 1} placeholders, ${params.length} parameters: ${text}`);
  return sql.join(parts.flatMap((part, i) => (i === 0 ? [sql.raw(part)] : [sql.param(params[i - 1]), sql.raw(part)])));
}

export function selectRows<T = Record<string, unknown>>(db: Tx, text: string, ...params: unknown[]): Promise<T[]> {
  return rows<T>(db, query(text, params));
}

export async function selectRow<T = Record<string, unknown>>(db: Tx, text: string, ...params: unknown[]): Promise<T | undefined> {
  return (await rows<T>(db, query(text, params)))[0];
}

/** Runs a statement in a transaction of its own; returns the rows it changed. */
export function runSql(db: Store, text: string, ...params: unknown[]): Promise<number> {
  return db.transaction((tx) => execute(tx, query(text, params)));
}
