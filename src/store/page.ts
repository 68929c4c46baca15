// Every list of the API answers one page at a time: `{items, nextCursor}`, `limit` items at
// most, in a stable order on one unique sort key (the row id). The cursor is opaque to
// clients: base64url of the list's name and the last key served, so the next page starts
// strictly after it (keyset paging). A walk that follows the cursors gets every row that
// existed when it began exactly once, whatever is inserted meanwhile, and no page costs
// more than the one before it (no OFFSET). The API, the domain and the CLI share this one
// module; it holds no query of its own (queries/lists.ts does).
import { type AnyColumn, gt, lt, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../errors.ts';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;
/** Far longer than any cursor this server writes; a longer one is refused before it is decoded. */
const MAX_CURSOR_LENGTH = 512;

const limitMessage = `must be a whole number from 1 to ${MAX_LIMIT}`;

/** `limit` and `cursor`, as every list route takes them in its query. */
export const pageQuerySchema = z.object({
  limit: z.coerce.number({ error: limitMessage }).int(limitMessage).min(1, limitMessage).max(MAX_LIMIT, limitMessage).default(DEFAULT_LIMIT).describe(`items per page (default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT})`),
  cursor: z.string().max(MAX_CURSOR_LENGTH, 'is not a cursor this list gave out').optional().describe('nextCursor of the previous page; leave out for the first page'),
});
export type PageRequest = z.infer<typeof pageQuerySchema>;

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** The answer of a list route: its items and the cursor of the next page. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

/** Which way a list runs on its key: `desc` puts the newest ids (time-prefixed) first. */
export type Order = 'asc' | 'desc';

const cursorBody = z.strictObject({ l: z.string(), k: z.string().min(1).max(256) });

export function encodeCursor(list: string, key: string): string {
  return Buffer.from(JSON.stringify({ l: list, k: key }), 'utf8').toString('base64url');
}

/**
 * The key a cursor of `list` carries. Anything else (not base64url, not our JSON, another
 * list's cursor) is the client's mistake: a 400 that says to start over, never a 500.
 * A well-formed cursor whose key was edited is just another position in the list: the
 * key is bound as a parameter and the list's filters and scope still apply.
 */
export function decodeCursor(list: string, cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const refused = new AppError('VALIDATION', `query: cursor is not one this list (${list}) gave out; leave it out to start from the first page`);
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw refused;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw refused;
  }
  const parsed = cursorBody.safeParse(decoded);
  if (!parsed.success || parsed.data.l !== list) throw refused;
  return parsed.data.k;
}

/** The condition "after the cursor's key" in the list's order, or none on the first page. */
export function afterKey(column: AnyColumn, order: Order, after: string | undefined): SQL | undefined {
  if (after === undefined) return undefined;
  return order === 'asc' ? gt(column, after) : lt(column, after);
}

/**
 * One page of `list`: `fetch` reads up to `limit + 1` rows after the cursor's key (the one
 * more tells whether another page follows) and `keyOf` gives a row's sort key.
 */
export async function keysetPage<R, T>(
  list: string,
  request: PageRequest,
  fetch: (after: string | undefined, limit: number) => Promise<R[]>,
  keyOf: (row: R) => string,
  view: (row: R) => T | Promise<T>,
): Promise<Page<T>> {
  const rows = await fetch(decodeCursor(list, request.cursor), request.limit + 1);
  const page = rows.slice(0, request.limit);
  const last = page.at(-1);
  const items: T[] = [];
  for (const row of page) items.push(await view(row));
  return { items, nextCursor: rows.length > request.limit && last !== undefined ? encodeCursor(list, keyOf(last)) : null };
}
