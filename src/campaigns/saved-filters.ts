// Device filters an operator saves under a name, kept per console user (the token that
// saved them) in the database, so they follow the user to any browser and any server
// process. The filter is stored as the device list's query string, re-read through
// deviceFilterSchema whenever it is used.
import { z } from 'zod';
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { newId } from '../store/ids.ts';
import { countSavedFilters, deleteSavedFilter, insertSavedFilter, savedFiltersOf } from '../store/queries/saved-filters.ts';
import type { Principal } from '../tokens/tokens.ts';
import { type DeviceFilter, filterQuery } from './device-filter.ts';

/** Enough for anyone's working set; a bound so nobody grows the table without end. */
export const MAX_SAVED_FILTERS = 50;

const nameSchema = z.string().trim().min(1, 'give the filter a name').max(100, 'a name is at most 100 characters');

export interface SavedFilter {
  id: string;
  name: string;
  /** The device list's query string. */
  query: string;
}

export async function savedFiltersFor(ctx: Context, principal: Principal): Promise<SavedFilter[]> {
  return (await savedFiltersOf(ctx.db, principal.personId)).map((r) => ({ id: r.id, name: r.name, query: r.query }));
}

export async function saveFilter(ctx: Context, principal: Principal, name: string, filter: DeviceFilter): Promise<SavedFilter> {
  const parsed = nameSchema.safeParse(name);
  if (!parsed.success) throw new AppError('VALIDATION', parsed.error.issues[0]?.message ?? 'invalid name');
  const query = filterQuery(filter);
  if (!query) throw new AppError('VALIDATION', 'there is nothing to save: set a filter first');
  const row = { id: newId('flt'), owner: principal.personId, name: parsed.data, query, createdAt: ctx.clock.now() };
  await ctx.db.transaction(async (tx) => {
    if ((await countSavedFilters(tx, principal.personId)) >= MAX_SAVED_FILTERS) throw new AppError('CONFLICT', `you have ${MAX_SAVED_FILTERS} saved filters; delete one first`);
    await insertSavedFilter(tx, row);
  });
  return { id: row.id, name: row.name, query };
}

export async function deleteFilter(ctx: Context, principal: Principal, id: string): Promise<void> {
  const gone = await ctx.db.transaction((tx) => deleteSavedFilter(tx, principal.personId, id));
  if (!gone) throw new AppError('NOT_FOUND', `no saved filter ${id}`);
}
