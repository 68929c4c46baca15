// On PostgreSQL, a query prepared once (prepared.ts) runs straight on node-postgres, as a
// named statement, with drizzle's SQL and row shapes. drizzle's own `execute` sends it
// unnamed, so PostgreSQL parsed and planned its text again on every call (the backends'
// CPU per DM session was more than the server's, bench/dm.ts --postgres), and maps every
// parameter and row through its generic code (drizzle-rows.ts says what is decided once
// instead). A name is per text, so a text is parsed once per connection: node-postgres
// keeps which names each connection has parsed and sends only Bind/Execute after that.
import { binder, type Fields, mapRows, rowMapper, type Values } from './drizzle-rows.ts';

/** How node-postgres takes a query (its QueryConfig, the part drizzle fills). */
interface QueryConfig {
  name?: string;
  text: string;
  rowMode?: 'array';
  types?: unknown;
}

/** What a node-postgres prepared query of drizzle (node-postgres/session.js) holds. */
interface DrizzleStatement {
  /** The transaction's pooled connection, or the pool itself for reads outside one. */
  client: { query(config: QueryConfig, values: unknown[]): Promise<{ rows: unknown[] }> };
  params: unknown[];
  /** With rows as arrays, for selected fields; raw, for statements that select none. */
  queryConfig: QueryConfig;
  rawQueryConfig: QueryConfig;
  fields?: Fields;
  customResultMapper?: unknown;
  joinsNotNullableMap?: Record<string, boolean>;
}

function isDrizzleStatement(statement: unknown): statement is DrizzleStatement {
  if (typeof statement !== 'object' || statement === null) return false;
  const s = statement as Partial<DrizzleStatement>;
  return typeof s.client?.query === 'function' && Array.isArray(s.params) && typeof s.queryConfig?.text === 'string' && typeof s.rawQueryConfig?.text === 'string';
}

/**
 * Statement names by text, for the process: one name always means one text (node-postgres
 * refuses a name reused for another text on a connection), and the same statement
 * prepared on several connections parses once on each under the same name.
 */
const names = new Map<string, string>();

function nameOf(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `fota_${names.size + 1}`;
    names.set(text, name);
  }
  return name;
}

/**
 * The statement with an `execute` that runs as a named statement on node-postgres, or the
 * statement as it is when it is not a shape this knows (then drizzle runs it, as before).
 * A statement drizzle named itself keeps drizzle's `execute`.
 */
export function direct<T>(statement: T): T {
  if (!isDrizzleStatement(statement) || statement.customResultMapper || statement.queryConfig.name !== undefined) return statement;
  const { client } = statement;
  const bind = binder(statement.params);
  if (!statement.fields) {
    // No selected fields (a write without RETURNING): node-postgres' result, as drizzle gives it.
    const config: QueryConfig = { ...statement.rawQueryConfig, name: nameOf(statement.rawQueryConfig.text) };
    return { execute: async (values?: Values) => client.query(config, bind(values)) } as T;
  }
  const map = rowMapper(statement.fields, statement.joinsNotNullableMap);
  if (!map) return statement;
  const config: QueryConfig = { ...statement.queryConfig, name: nameOf(statement.queryConfig.text) };
  return {
    execute: async (values?: Values) => mapRows((await client.query(config, bind(values))).rows, map),
  } as T;
}
