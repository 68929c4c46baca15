// What every listing command shares: the paging options (--limit, --cursor, --all, --json),
// fetching a list page by page through the API's cursors, and printing it as aligned
// columns for people or as the API's own {items, nextCursor} JSON for programs.
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { MAX_LIMIT, pageSchema } from '../store/page.ts';
import { callServer, type Client } from './client.ts';
import { integerOption, type Output, UsageError } from './io.ts';

/** The options of every listing command, for parseOptions. */
export const pageOptions = { limit: { type: 'string' }, cursor: { type: 'string' }, all: { type: 'boolean' }, json: { type: 'boolean' } } as const;

export const pageHelp = `  --limit N     items per page (the server's default 50, at most ${MAX_LIMIT})
  --cursor C    the page after C (the cursor the previous page printed)
  --all         follow the cursors to the last page and print everything
  --json        print {"items": [...], "nextCursor": ...} as the API answers it`;

export interface PageFlags {
  limit?: string | undefined;
  cursor?: string | undefined;
  all?: boolean | undefined;
  json?: boolean | undefined;
}

export interface Listed<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * One page of `path` (or, with --all, every page from --cursor on), filtered by the
 * query values given (undefined ones are left out).
 */
export async function fetchList<T extends z.ZodType>(client: Client, path: string, filters: Record<string, string | undefined>, item: T, flags: PageFlags): Promise<Listed<z.infer<T>>> {
  const limit = integerOption(flags.limit, '--limit', 1);
  if (limit !== undefined && limit > MAX_LIMIT) throw new UsageError(`--limit must be at most ${MAX_LIMIT}, got ${limit}; use --all to get everything`);
  if (flags.cursor !== undefined && flags.cursor.trim() === '') throw new UsageError('--cursor needs the cursor the previous page printed');
  const schema = pageSchema(item);
  const items: Array<z.infer<T>> = [];
  let cursor = flags.cursor;
  for (;;) {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(filters)) if (value !== undefined) query.set(name, value);
    if (limit !== undefined) query.set('limit', String(limit));
    if (cursor !== undefined) query.set('cursor', cursor);
    const text = query.toString();
    const page = await callServer(client, 'GET', `${path}${text ? `?${text}` : ''}`, schema);
    items.push(...page.items);
    if (!flags.all || page.nextCursor === null) return { items, nextCursor: page.nextCursor };
    // A server that hands back the cursor it was given would keep us here forever.
    if (page.nextCursor === cursor) throw new AppError('VALIDATION', `the server answered ${path} with the same cursor again; stopping`);
    cursor = page.nextCursor;
  }
}

export interface Column<T> {
  header: string;
  cell: (item: T) => string;
  /** Numbers read best right-aligned. */
  align?: 'right';
}

/** Rows of cells under their headers, each column as wide as its widest cell; the last one unpadded. */
export function table<T>(items: T[], columns: Array<Column<T>>): string {
  const rows = [columns.map((c) => c.header), ...items.map((item) => columns.map((c) => oneLine(c.cell(item))))];
  const widths = columns.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => {
        const width = widths[i] ?? 0;
        if (columns[i]?.align === 'right') return cell.padStart(width);
        return i === row.length - 1 ? cell : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return `${rows.map(line).join('\n')}\n`;
}

/**
 * The list on stdout: JSON with --json, else a table. Where a next page exists (and not
 * --all), stderr says how to get it, so stdout stays the list alone.
 */
export function printList<T>(io: Output, listed: Listed<T>, columns: Array<Column<T>>, flags: PageFlags, noun: string): void {
  if (flags.json) {
    io.out(`${JSON.stringify(listed, null, 2)}\n`);
  } else if (listed.items.length === 0) {
    io.err(`no ${noun}${flags.cursor === undefined ? '' : ' after that cursor'}\n`);
  } else {
    io.out(table(listed.items, columns));
  }
  if (listed.nextCursor !== null && !flags.json) io.err(moreHint(noun, listed.nextCursor));
}

/** Where a page is not the last: the same command with this cursor gives the next one. */
export function moreHint(noun: string, cursor: string): string {
  return `more ${noun}: run again with --cursor ${cursor} (or --all for every page)\n`;
}

/**
 * A cell never breaks the table or the terminal: newlines and tabs in server text become
 * spaces, other control characters (a device-reported name with an escape sequence) "?".
 */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\r\n\t]+/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** ISO time as a table shows it: to the second, UTC ("2026-12-05 18:22:01"). */
export function shortTime(iso: string | null): string {
  return iso === null ? '-' : iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');
}
