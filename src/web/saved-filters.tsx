// Saved device filters on the device list: the user's own, as links, each with a delete
// button, and a form that saves the filter on screen under a name. Kept per console user
// in the database (campaigns/saved-filters.ts).
import type { Context as HonoContext, Hono } from 'hono';
import { deviceFilterSchema } from '../campaigns/device-filter.ts';
import { deleteFilter, type SavedFilter, saveFilter } from '../campaigns/saved-filters.ts';
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { type ConsoleKit, errorPage } from './render.tsx';
import type { ConsoleEnv } from './session.ts';

type C = HonoContext<ConsoleEnv>;

export function SavedFilters(props: { filters: SavedFilter[]; current: string }) {
  return (
    <div class="saved" data-testid="saved-filters">
      {props.filters.length > 0 ? (
        <ul class="actions">
          {props.filters.map((f) => (
            <li>
              <a href={`/devices?${f.query}`} data-testid="saved-filter">
                {f.name}
              </a>
              <form method="post" action={`/devices/filters/${encodeURIComponent(f.id)}/delete`}>
                <button type="submit" aria-label={`delete saved filter ${f.name}`} data-testid={`delete-filter-${f.name}`}>
                  ×
                </button>
              </form>
            </li>
          ))}
        </ul>
      ) : null}
      {props.current ? (
        <form method="post" action="/devices/filters" class="actions" data-testid="save-filter">
          <input type="hidden" name="query" value={props.current} />
          <label>
            save this filter as
            <input name="name" size={20} maxlength={100} autocomplete="off" data-testid="save-filter-name" />
          </label>
          <button type="submit" data-testid="save-filter-submit">
            Save
          </button>
        </form>
      ) : null}
    </div>
  );
}

export function mountSavedFilters(app: Hono<ConsoleEnv>, ctx: Context, kit: ConsoleKit): void {
  const { viewer, sameOrigin, form, page } = kit;
  const refuse = (c: C, err: AppError) => errorPage(c, err.code === 'NOT_FOUND' ? 404 : err.code === 'CONFLICT' ? 409 : 400, 'Cannot save this filter', err.message, c.get('principal'));

  app.post(
    '/devices/filters',
    sameOrigin,
    form,
    viewer,
    page(async (c) => {
      const body = await c.req.parseBody();
      const query = typeof body.query === 'string' ? body.query : '';
      const parsed = deviceFilterSchema.safeParse(Object.fromEntries(new URLSearchParams(query)));
      if (!parsed.success) return refuse(c, new AppError('VALIDATION', parsed.error.issues[0]?.message ?? 'invalid filter'));
      try {
        const saved = await saveFilter(ctx, c.get('principal'), typeof body.name === 'string' ? body.name : '', parsed.data);
        return c.redirect(`/devices?${saved.query}`, 303);
      } catch (err) {
        if (err instanceof AppError) return refuse(c, err);
        throw err;
      }
    }),
  );

  app.post(
    '/devices/filters/:id/delete',
    sameOrigin,
    form,
    viewer,
    page(async (c) => {
      await deleteFilter(ctx, c.get('principal'), c.req.param('id') ?? '');
      return c.redirect('/devices', 303);
    }),
  );
}
