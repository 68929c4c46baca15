// The operator console's routes: sign in and out, and server-rendered pages for
// campaigns, builds and devices whose <main> refreshes itself. A thin transport: it checks
// the session, the role and the origin, calls one domain function per action, and turns
// AppErrors into a message on the page rather than a crash.
//
// Routes are registered one by one on the app (not as a sub-app with `use('*')`), so the
// console's middleware can never run for /api/v1, /dm or /dl: the API keeps its bearer
// tokens and knows nothing of the console's cookie.
import type { Context as HonoContext, Hono, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { getCookie } from 'hono/cookie';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { statusOf } from '../http/status.ts';
import { recentBuilds, buildView } from '../builds/view.ts';
import { abortCampaign, approveStage, mayApprove, pauseCampaign, resumeCampaign } from '../campaigns/operator.ts';
import { operatorActionSchema } from '../campaigns/schemas.ts';
import { startCampaign } from '../campaigns/start.ts';
import { campaignSummaries, campaignView } from '../campaigns/view.ts';
import type { Context } from '../context.ts';
import { deviceFilterSchema, filterDevices, filterQuery } from '../campaigns/device-filter.ts';
import { savedFiltersFor } from '../campaigns/saved-filters.ts';
import { AppError } from '../errors.ts';
import { authenticate, loggableActor, type Principal } from '../tokens/tokens.ts';
import { BuildContent, BuildsContent } from './builds.tsx';
import { CampaignContent, OverviewContent } from './campaigns.tsx';
import { DevicesContent, PAGE_SIZES } from './devices.tsx';
import { consoleOrigins, isSameOrigin } from './guard.ts';
import { pageToReturnTo, safeNext } from './next-page.ts';
import type { Flash } from './layout.tsx';
import { CREATED, mountManagement } from './manage.tsx';
import { UPLOAD_PATH } from './upload.tsx';
import { APP_UPLOAD_PATH } from './apps.tsx';
import { errorPage, isFragment, render } from './render.tsx';
import { ActivityTimeline, TIMELINE_LIMIT } from './timeline.tsx';
import { SavedFilters } from './saved-filters.tsx';
import { activityOf } from '../tokens/activity.ts';
import { LoginContent } from './pages.tsx';
import { canAct, canUpload, canView, clearSessionCookie, type ConsoleEnv, endSession, SESSION_COOKIE, sessionOf, startSession } from './session.ts';

type C = HonoContext<ConsoleEnv>;

/** Forms carry a token or a reason: a few KiB at most. */
const FORM_LIMIT = 16 * 1024;
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9:._-]{0,127}$/;

const ACTIONS = {
  start: { run: (ctx: Context, p: Principal, id: string) => startCampaign(ctx, p, id), done: 'Campaign started.' },
  approve: { run: (ctx: Context, p: Principal, id: string) => approveStage(ctx, p, id), done: 'Stage approved: it is starting.' },
  pause: { run: pauseCampaign, done: 'Campaign paused.' },
  resume: { run: resumeCampaign, done: 'Campaign resumed.' },
  abort: { run: abortCampaign, done: 'Campaign aborted.' },
} satisfies Record<string, { run: (ctx: Context, p: Principal, id: string, reason?: string) => Promise<unknown>; done: string }>;
type ActionName = keyof typeof ACTIONS;
const isAction = (name: string): name is ActionName => Object.hasOwn(ACTIONS, name);

/** Handlers are typed apart from their paths, so Hono cannot promise the param: an empty id is not found. */
const idParam = (c: C) => c.req.param('id') ?? '';

export function mountConsole(app: Hono<ConsoleEnv>, ctx: Context): void {
  const form = bodyLimit({ maxSize: FORM_LIMIT, onError: (c) => errorPage(c, 413, 'Too large', `forms are limited to ${FORM_LIMIT} bytes`) });

  const sameOrigin: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
    if (!isSameOrigin(ctx, c)) {
      return errorPage(c, 403, 'Refused', 'This form did not come from this console (the Origin header is missing or names another site). Open the console and try again.');
    }
    await next();
  };

  /** Pages and actions need a session of a role that may look; no session means the login page. */
  const viewer: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
    const principal = await sessionOf(ctx, c);
    // A manufacturer's session is for uploading builds only: the fleet's pages are not theirs.
    if (principal && canUpload(principal.role)) {
      if (isFragment(c)) return c.text('not for manufacturers', 403);
      return errorPage(c, 403, 'Not for manufacturers', 'A manufacturer signs in to upload builds; campaigns and devices are for operators.', principal);
    }
    if (!principal || !canView(principal.role)) {
      if (getCookie(c, SESSION_COOKIE)) clearSessionCookie(ctx, c);
      // The live refresh cannot follow a redirect into a login form: it reloads on 401.
      if (isFragment(c)) return c.text('sign in again', 401);
      return c.redirect(`/login?${new URLSearchParams({ next: pageToReturnTo(c, consoleOrigins(ctx, c)) }).toString()}`, 303);
    }
    c.set('principal', principal);
    await next();
  };

  /** AppErrors of a page (an unknown id) become a page; anything else a logged 500 page. */
  const page =
    (handler: (c: C) => Response | Promise<Response>) =>
    async (c: C): Promise<Response> => {
      try {
        return await handler(c);
      } catch (err) {
        const principal = c.get('principal');
        if (err instanceof AppError) return errorPage(c, statusOf[err.code], err.code === 'NOT_FOUND' ? 'Not found' : 'Cannot show this', err.message, principal);
        ctx.log.child({ requestId: c.get('requestId') }).error({ err }, 'console page failed');
        return errorPage(c, 500, 'Something went wrong', 'The server log has the details.', principal);
      }
    };

  app.get('/login', async (c) => {
    const signedIn = await sessionOf(ctx, c);
    if (signedIn) return c.redirect(canUpload(signedIn.role) ? UPLOAD_PATH : safeNext(c.req.query('next')), 303);
    return render(c, <LoginContent next={safeNext(c.req.query('next'))} />, { title: 'Sign in' });
  });

  app.post('/login', sameOrigin, form, async (c) => {
    const body = await c.req.parseBody();
    const token = typeof body.token === 'string' ? body.token.trim() : '';
    const next = safeNext(body.next);
    const refuse = (status: ContentfulStatusCode, error: string) => render(c, <LoginContent error={error} next={next} />, { title: 'Sign in' }, status);
    const principal = token && token.length <= 512 ? await authenticate(ctx, token) : undefined;
    if (!principal) return refuse(401, 'Unknown or revoked token.');
    if (!canView(principal.role) && !canUpload(principal.role)) return refuse(403, `This is a ${principal.role} token; the console is for operators (admins may look).`);
    startSession(ctx, c, token);
    ctx.log.info({ requestId: c.get('requestId'), actor: loggableActor(principal) }, 'console sign-in');
    // A manufacturer lands on an upload page: the one it was sent from, else the build upload.
    return c.redirect(canUpload(principal.role) ? (next === APP_UPLOAD_PATH ? next : UPLOAD_PATH) : next, 303);
  });

  app.post('/logout', sameOrigin, form, async (c) => {
    await endSession(ctx, c);
    return c.redirect('/login', 303);
  });

  // Before '/campaigns/:id', which would otherwise take '/campaigns/new' for an id.
  mountManagement(app, ctx, { viewer, page, sameOrigin, form });

  app.get(
    '/',
    viewer,
    page(async (c) => {
      const content = <OverviewContent campaigns={await campaignSummaries(ctx, 50)} builds={await recentBuilds(ctx, 5)} />;
      return render(c, content, { title: 'Campaigns', principal: c.get('principal'), section: 'campaigns', live: {} });
    }),
  );

  /** The campaign page, with the outcome of the last action when there was one. */
  const campaignPage = async (c: C, id: string, flash?: Flash, status: ContentfulStatusCode = 200) => {
    const principal = c.get('principal');
    const timeline = <ActivityTimeline entries={await activityOf(ctx, [id], TIMELINE_LIMIT)} limit={TIMELINE_LIMIT} />;
    const content = <CampaignContent view={await campaignView(ctx, id)} canAct={canAct(principal.role)} mayApprove={await mayApprove(ctx, principal, id)} viewerName={principal.name} timeline={timeline} />;
    // After a refused action the address bar shows the action's URL: refresh from the page's own.
    return render(c, content, { title: 'Campaign', principal, section: 'campaigns', flash, live: { src: `/campaigns/${encodeURIComponent(id)}` } }, status);
  };

  app.get(
    '/campaigns/:id',
    viewer,
    page((c) => {
      const done = c.req.query('done') ?? '';
      // Only our own fixed words: a crafted link cannot put text on the page.
      const flash: Flash | undefined = isAction(done) ? { kind: 'ok', text: ACTIONS[done].done } : done === 'create' ? { kind: 'ok', text: CREATED } : undefined;
      return campaignPage(c, idParam(c), flash);
    }),
  );

  for (const name of Object.keys(ACTIONS)) {
    if (!isAction(name)) continue;
    app.post(
      `/campaigns/:id/${name}`,
      sameOrigin,
      form,
      viewer,
      page(async (c) => {
        const principal = c.get('principal');
        const id = idParam(c);
        if (!canAct(principal.role)) {
          return errorPage(c, 403, 'Read-only', `${principal.name} is an ${principal.role}: only an operator can ${name} a campaign.`, principal);
        }
        const body = await c.req.parseBody();
        const reason = typeof body.reason === 'string' ? body.reason.trim() : '';
        try {
          const parsed = operatorActionSchema.safeParse(reason ? { reason } : {});
          if (!parsed.success) throw new AppError('VALIDATION', 'the reason is limited to 500 characters');
          await ACTIONS[name].run(ctx, principal, id, parsed.data.reason);
        } catch (err) {
          // A stale button (409) or four eyes (403) is news for the operator, shown on the page.
          if (err instanceof AppError && err.code !== 'NOT_FOUND') return campaignPage(c, id, { kind: 'error', text: err.message }, statusOf[err.code]);
          throw err;
        }
        return c.redirect(`/campaigns/${encodeURIComponent(id)}?done=${name}`, 303);
      }),
    );
  }

  app.get(
    '/builds',
    viewer,
    page(async (c) => render(c, <BuildsContent builds={await recentBuilds(ctx, 100)} />, { title: 'Builds', principal: c.get('principal'), section: 'builds', live: {} })),
  );

  app.get(
    '/builds/:id',
    viewer,
    page(async (c) => render(c, <BuildContent build={await buildView(ctx, idParam(c))} />, { title: 'Build', principal: c.get('principal'), section: 'builds', live: {} })),
  );

  app.get(
    '/devices',
    viewer,
    page(async (c) => {
      const principal = c.get('principal');
      const parsed = deviceFilterSchema.safeParse(c.req.query());
      const after = c.req.query('after') || undefined;
      const perPage = PAGE_SIZES.find((n) => String(n) === c.req.query('per')) ?? PAGE_SIZES[0];
      const afterValid = after === undefined || ID_PATTERN.test(after);
      const valid = parsed.success && afterValid;
      const flash: Flash | undefined = valid ? undefined : { kind: 'error', text: parsed.success ? 'That page link is broken: start from the first page.' : (parsed.error.issues[0]?.message ?? 'invalid filter') };
      const filter = parsed.success ? parsed.data : {};
      const result = valid ? await filterDevices(ctx, filter, { ...(after ? { after } : {}), limit: perPage }) : { devices: [], total: 0, next: null };
      const saved = <SavedFilters filters={await savedFiltersFor(ctx, principal)} current={valid ? filterQuery(filter) : ''} />;
      return render(c, <DevicesContent page={result} filter={filter} after={valid ? after : undefined} perPage={perPage} savedFilters={saved} />, { title: 'Devices', principal, section: 'devices', flash, live: {} }, valid ? 200 : 400);
    }),
  );
}
