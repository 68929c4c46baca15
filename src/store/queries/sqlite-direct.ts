// On SQLite, a query prepared once (prepared.ts) runs straight on its better-sqlite3
// statement: drizzle's own `execute` maps every placeholder and every column of every row
// through its generic code and wraps the call in a QueryPromise, which on the DM hot path
// cost a fifth of what the statements themselves cost (bench/dm.ts profile). This does the
// same work with what can be decided once per statement decided once (drizzle-rows.ts).
// The SQL, the parameters and the row objects are drizzle's, so one query written with
// drizzle's builder serves both dialects; PostgreSQL's counterpart is pg-direct.ts.
import type Database from 'better-sqlite3';
import { binder, type Fields, mapRows, rowMapper, type Values } from './drizzle-rows.ts';

/** What a better-sqlite3 prepared query of drizzle (better-sqlite3/session.js) holds. */
interface DrizzleStatement {
  stmt: Database.Statement;
  query: { sql: string; params: unknown[] };
  fields?: Fields;
  executeMethod: string;
  customResultMapper?: unknown;
  joinsNotNullableMap?: Record<string, boolean>;
}

function isDrizzleStatement(statement: unknown): statement is DrizzleStatement {
  if (typeof statement !== 'object' || statement === null) return false;
  const s = statement as Partial<DrizzleStatement>;
  return typeof s.stmt === 'object' && s.stmt !== null && typeof s.query?.sql === 'string' && Array.isArray(s.query.params) && typeof s.executeMethod === 'string';
}

/**
 * The statement with an `execute` that runs on better-sqlite3 directly, or the statement
 * as it is when it is not a shape this knows (then drizzle runs it, as before).
 */
export function direct<T>(statement: T): T {
  if (!isDrizzleStatement(statement) || statement.customResultMapper) return statement;
  const bind = binder(statement.query.params);
  const { stmt } = statement;
  // The parameters go as one array (better-sqlite3 binds an array's items as the
  // statement's anonymous parameters, as it binds spread arguments), and the call runs
  // inline: a closure per call and an argument spread per statement, some 25 of each per
  // DM message, for nothing.
  switch (statement.executeMethod) {
    case 'run':
      return {
        execute: (values?: Values) => {
          try {
            return Promise.resolve(stmt.run(bind(values)));
          } catch (err) {
            return Promise.reject(err);
          }
        },
      } as T;
    case 'all':
    case 'get': {
      if (!statement.fields) return statement;
      const map = rowMapper(statement.fields, statement.joinsNotNullableMap);
      if (!map) return statement;
      // Rows as arrays: the mapper names them (drizzle asks for the same on each call).
      stmt.raw(true);
      if (statement.executeMethod === 'get') {
        return {
          execute: (values?: Values) => {
            try {
              const row = stmt.get(bind(values)) as unknown[] | undefined;
              return Promise.resolve(row === undefined ? undefined : map(row));
            } catch (err) {
              return Promise.reject(err);
            }
          },
        } as T;
      }
      return {
        execute: (values?: Values) => {
          try {
            return Promise.resolve(mapRows(stmt.all(bind(values)), map));
          } catch (err) {
            return Promise.reject(err);
          }
        },
      } as T;
    }
    default:
      return statement;
  }
}
