// What running a statement drizzle prepared takes besides the driver, decided once per
// statement instead of on every call as drizzle's own `execute` does (fillPlaceholders,
// mapResultRow and `is` walking prototypes for each parameter and column): which
// parameter is which placeholder, which column needs a decoder, how a row nests. Shared by
// the dialects' direct runners (sqlite-direct.ts, pg-direct.ts), so the parameters bound
// and the row objects are drizzle's on both.
import { Column, getTableName, is, Param, Placeholder, SQL } from 'drizzle-orm';

/** The selected fields of a drizzle prepared query, in the order of the row's columns. */
export type Fields = Array<{ path: string[]; field: unknown }>;
/** A statement's placeholder values, as drizzle's `execute` takes them. */
export type Values = Record<string, unknown> | undefined;
type Decode = ((value: unknown) => unknown) | undefined;

const identityFrom = Column.prototype.mapFromDriverValue;
const identityTo = Column.prototype.mapToDriverValue;

/** The statement's parameters from the placeholders' values, as drizzle's fillPlaceholders binds them. */
export function binder(params: unknown[]): (values: Values) => unknown[] {
  const slots = params.map((p): { name: string; encode?: (value: unknown) => unknown } | { constant: unknown } => {
    if (is(p, Placeholder)) return { name: p.name };
    if (is(p, Param) && is(p.value, Placeholder)) {
      const encoder = p.encoder as { mapToDriverValue?: (value: unknown) => unknown } | undefined;
      const encode = encoder?.mapToDriverValue;
      return encode === undefined || encode === identityTo ? { name: p.value.name } : { name: p.value.name, encode: (value) => encode.call(encoder, value) };
    }
    return { constant: p };
  });
  if (slots.every((s) => 'constant' in s)) {
    const constants = slots.map((s) => ('constant' in s ? s.constant : undefined));
    return () => constants;
  }
  return (values) => {
    const bound = new Array<unknown>(slots.length);
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!;
      if ('constant' in slot) {
        bound[i] = slot.constant;
        continue;
      }
      if (values === undefined || !(slot.name in values)) throw new Error(`No value for placeholder "${slot.name}" was provided`);
      const value = values[slot.name];
      bound[i] = slot.encode ? slot.encode(value) : value;
    }
    return bound;
  };
}

/**
 * The column's decoder, as drizzle's mapResultRow finds it; undefined when it returns the
 * value as it is, null for a field this does not know (a subquery: drizzle maps that row).
 */
function decoderOf(field: unknown): Decode | null {
  let decoder: { mapFromDriverValue?: (value: unknown) => unknown } | undefined;
  if (is(field, Column)) decoder = field;
  // `decoder` is drizzle-internal (its typings hide it); mapResultRow reads it the same way.
  else if (is(field, SQL)) decoder = (field as unknown as { decoder: typeof decoder }).decoder;
  else if (is(field, SQL.Aliased)) decoder = (field.sql as unknown as { decoder: typeof decoder }).decoder;
  else return null;
  const from = decoder?.mapFromDriverValue;
  if (from === undefined || from === identityFrom) return undefined;
  // drizzle's own no-op decoder (sql.js noopDecoder) is an arrow function: decoding with it is harmless.
  return (value) => from.call(decoder, value);
}

/**
 * Maps a row (an array) to drizzle's object: `{ column: value }`, or for a selection of
 * tables `{ table: { column: value } }`, where a left-joined table with no row is null
 * (drizzle: its first column is null), and beside such tables single fields (`{ table: {
 * ... }, field: value }`, as drizzle leaves them). Undefined for shapes this does not handle.
 */
export function rowMapper(fields: Fields, joinsNotNullableMap: Record<string, boolean> | undefined): ((row: unknown[]) => unknown) | undefined {
  const columns = fields.map(({ path, field }) => ({ path, decode: decoderOf(field), table: is(field, Column) ? getTableName(field.table) : undefined }));
  if (columns.some((c) => c.decode === null)) return undefined;
  if (columns.some((c) => c.path.some((key) => key === '__proto__'))) return undefined;
  const decoders = columns.map((c) => c.decode ?? undefined);
  if (columns.every((c) => c.path.length === 1)) return compiled(`return ${objectLiteral(columns.map((c) => c.path[0]!), decoders, 0, columns.length)};`, decoders);
  // Nested: only whole tables (drizzle nulls such an object when its first column is null,
  // all its columns come from one table, and that table may be absent in the join), and
  // single fields beside them.
  if (!columns.every((c) => c.path.length === 1 || (c.path.length === 2 && c.table !== undefined))) return undefined;
  const members: Array<{ name: string; from: number; to: number; object: boolean; nullable: boolean }> = [];
  for (let i = 0; i < columns.length; i++) {
    const { path } = columns[i]!;
    const name = path[0]!;
    const last = members[members.length - 1];
    if (path.length === 2 && last && last.object && last.name === name) last.to = i + 1;
    else if (members.some((m) => m.name === name)) return undefined;
    else members.push({ name, from: i, to: i + 1, object: path.length === 2, nullable: false });
  }
  for (const member of members) {
    if (!member.object) continue;
    const tables = new Set(columns.slice(member.from, member.to).map((c) => c.table));
    const [table] = tables;
    member.nullable = joinsNotNullableMap !== undefined && tables.size === 1 && table !== undefined && joinsNotNullableMap[table] !== true;
  }
  const keys = columns.map((c) => c.path[c.path.length - 1]!);
  const literal = members.map(({ name, from, to, object, nullable }) => {
    if (!object) return fieldsOf(keys, decoders, from, to).join(', ');
    const value = objectLiteral(keys, decoders, from, to);
    return `${JSON.stringify(name)}: ${nullable ? `row[${from}] === null ? null : ${value}` : value}`;
  });
  return compiled(`return { ${literal.join(', ')} };`, decoders);
}

/** Each row (an array) mapped to drizzle's object by the statement's mapper. */
export function mapRows(rows: unknown[], map: (row: unknown[]) => unknown): unknown[] {
  const mapped = new Array<unknown>(rows.length);
  for (let i = 0; i < rows.length; i++) mapped[i] = map(rows[i] as unknown[]);
  return mapped;
}

/**
 * A row mapper compiled once per statement, its object written as a literal: one hidden
 * class with every field in the object itself, where objects filled in a loop from `{}`
 * took their fields past the fourth into a separate store, through a store shared by every
 * statement's rows (V8 looked each up in its megamorphic cache; bench/dm.ts: the mappers
 * and the reads of row fields after them). Column names come from the schema (code, not
 * input), and go into the source as JSON strings.
 */
function compiled(body: string, decoders: Decode[]): (row: unknown[]) => unknown {
  const make = new Function('decoders', `return (row) => { ${body} };`) as (decoders: Decode[]) => (row: unknown[]) => unknown;
  return make(decoders);
}

/** `{ "key": row[i], ... }` for columns from..to, decoded where a column has a decoder (never a null). */
function objectLiteral(keys: string[], decoders: Decode[], from: number, to: number): string {
  return `{ ${fieldsOf(keys, decoders, from, to).join(', ')} }`;
}

/** `"key": row[i]` for each of columns from..to, as objectLiteral writes them. */
function fieldsOf(keys: string[], decoders: Decode[], from: number, to: number): string[] {
  const fields: string[] = [];
  for (let i = from; i < to; i++) {
    const value = decoders[i] === undefined ? `row[${i}]` : `(row[${i}] === null ? null : decoders[${i}](row[${i}]))`;
    fields.push(`${JSON.stringify(keys[i])}: ${value}`);
  }
  return fields;
}
