// The console's management routes: creating campaigns (with a live cohort count), and the
// pages that change the fleet. Mounted by routes.tsx with its guards, so every POST here
// passes the same checks as the campaign actions: the Origin must be this console (CSRF),
// the body is small, the session is valid, and the role may act (operators; tokens: admins).
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Context as HonoContext, Hono, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { uploadQuerySchema } from '../builds/schemas.ts';
import { uploadBuild } from '../builds/upload.ts';
import { recentBuilds } from '../builds/view.ts';
import { previewCohort } from '../campaigns/cohort.ts';
import { createCampaign } from '../campaigns/create.ts';
import { cohortPreviewQuerySchema } from '../campaigns/schemas.ts';
import type { Context } from '../context.ts';
import { deploymentView } from '../deployments/deployments.ts';
import { deviceView, registerDevice } from '../devices/devices.ts';
import { replaceTags } from '../devices/tags.ts';
import { AppError } from '../errors.ts';
import { statusOf } from '../http/status.ts';
import { campaignRequest, type FormValues, NEW_CAMPAIGN_DEFAULTS, NewCampaignContent, PREVIEW_SCRIPT } from './campaign-new.tsx';
import { DeviceContent } from './devices.tsx';
import { DeviceConfigurationCard } from './device-configuration.tsx';
import { deviceConfiguration } from '../profiles/apply.ts';
import { DeviceTagsForm, RegisterDeviceContent, registerRequest, tagList } from './device-manage.tsx';
import { helpdeskPanel, mountHelpdesk, shownQuery } from './helpdesk.tsx';
import { deviceAppsCard, mountApps, SCOMO_DONE } from './apps-routes.tsx';
import type { Flash } from './layout.tsx';
import { mountSavedFilters } from './saved-filters.tsx';
import { mountTokens } from './tokens.tsx';
import { ActivityTimeline, TIMELINE_LIMIT } from './timeline.tsx';
import { activityOf } from '../tokens/activity.ts';
import { type ConsoleKit, errorPage, render } from './render.tsx';
import { canAct, canUpload, type ConsoleEnv, sessionOf } from './session.ts';
import { UPLOAD_PATH, UPLOAD_SCRIPT, UploadContent } from './upload.tsx';

type C = HonoContext<ConsoleEnv>;


const DEPLOYMENTS_SHOWN = 20;

export const CREATED = 'Campaign created as a draft: check its cohort, then start it.';

/** A 403 page unless the session's role may change things; undefined when it may. */
export function refuseReadOnly(c: C, what: string): Response | Promise<Response> | undefined {
  const principal = c.get('principal');
  if (canAct(principal.role)) return undefined;
  return errorPage(c, 403, 'Read-only', `${principal.name} is an ${principal.role}: only an operator can ${what}.`, principal);
}

/** A form body as strings (repeated fields as lists); files are not taken here. */
export async function formValues(c: C): Promise<FormValues> {
  const body = await c.req.parseBody({ all: true });
  const values: FormValues = {};
  for (const [key, value] of Object.entries(body)) {
    if (typeof value === 'string') values[key] = value;
    else if (Array.isArray(value)) values[key] = value.filter((x): x is string => typeof x === 'string');
  }
  return values;
}

export function mountManagement(app: Hono<ConsoleEnv>, ctx: Context, kit: ConsoleKit): void {
  const { viewer, sameOrigin, form, page } = kit;
  mountTokens(app, ctx, kit);
  mountSavedFilters(app, ctx, kit);

  const newCampaignPage = async (c: C, values: FormValues, flash?: Flash, status: ContentfulStatusCode = 200) => {
    const content = <NewCampaignContent builds={await recentBuilds(ctx, 100)} values={values} fourEyesDefault={ctx.config.campaigns.fourEyes} />;
    return render(c, content, { title: 'New campaign', principal: c.get('principal'), section: 'campaigns', flash, script: PREVIEW_SCRIPT }, status);
  };

  app.get(
    '/campaigns/new',
    viewer,
    page(async (c) => refuseReadOnly(c, 'create a campaign') ?? newCampaignPage(c, NEW_CAMPAIGN_DEFAULTS)),
  );

  app.post(
    '/campaigns/new',
    sameOrigin,
    form,
    viewer,
    page(async (c) => {
      const refused = refuseReadOnly(c, 'create a campaign');
      if (refused) return refused;
      const values = await formValues(c);
      const parsed = campaignRequest(values);
      if (!parsed.ok) return newCampaignPage(c, values, { kind: 'error', text: parsed.error }, 400);
      try {
        const { id } = await createCampaign(ctx, c.get('principal'), parsed.request);
        return c.redirect(`/campaigns/${encodeURIComponent(id)}?done=create`, 303);
      } catch (err) {
        if (err instanceof AppError) return newCampaignPage(c, values, { kind: 'error', text: err.message }, statusOf[err.code]);
        throw err;
      }
    }),
  );

  const registerPage = (c: C, values: FormValues, flash?: Flash, status: ContentfulStatusCode = 200) =>
    render(c, <RegisterDeviceContent values={values} />, { title: 'Register a device', principal: c.get('principal'), section: 'devices', flash }, status);

  app.get(
    '/devices/new',
    viewer,
    page(async (c) => refuseReadOnly(c, 'register a device') ?? registerPage(c, {})),
  );

  app.post(
    '/devices/new',
    sameOrigin,
    form,
    viewer,
    page(async (c) => {
      const refused = refuseReadOnly(c, 'register a device');
      if (refused) return refused;
      const values = await formValues(c);
      const parsed = registerRequest(values);
      if (!parsed.ok) return registerPage(c, values, { kind: 'error', text: parsed.error }, 400);
      try {
        await registerDevice(ctx, c.get('principal'), parsed.request);
      } catch (err) {
        if (err instanceof AppError) return registerPage(c, values, { kind: 'error', text: err.message }, statusOf[err.code]);
        throw err;
      }
      return c.redirect(`/devices/${encodeURIComponent(parsed.request.id)}?done=register`, 303);
    }),
  );

  const DEVICE_DONE: Record<string, string> = {
    register: 'Device registered: it can open a DM session now.',
    tags: 'Tags saved.',
    query: 'Asked: the results appear below as the device answers.',
    fix: 'Fix queued: the device gets the Replace in its next session, then the node is read again.',
    scomo: SCOMO_DONE,
  };

  const devicePage = async (c: C, id: string, flash?: Flash, status: ContentfulStatusCode = 200) => {
    const principal = c.get('principal');
    const device = await deviceView(ctx, id);
    const newest = [...device.deployments].reverse().slice(0, DEPLOYMENTS_SHOWN);
    const deployments = [];
    for (const d of newest) deployments.push(await deploymentView(ctx, d.id));
    // The device's own events (registered, tags, alerts) and those of its deployments.
    const activity = await activityOf(ctx, [device.id, ...device.deployments.map((d) => d.id)], TIMELINE_LIMIT);
    const content = (
      <DeviceContent
        device={device}
        deployments={deployments}
        totalDeployments={device.deployments.length}
        manage={canAct(principal.role) ? <DeviceTagsForm id={device.id} tags={device.tags} /> : undefined}
        helpdesk={await helpdeskPanel(ctx, principal, device.id, c.req.query('query'))}
        apps={await deviceAppsCard(ctx, principal, device)}
        configuration={<DeviceConfigurationCard view={await deviceConfiguration(ctx, device.id)} />}
        timeline={<ActivityTimeline entries={activity} limit={TIMELINE_LIMIT} subjectLabel={(subject) => (subject === device.id ? undefined : `deployment ${subject}`)} />}
      />
    );
    return render(c, content, { title: device.id, principal, section: 'devices', flash, live: { src: `/devices/${encodeURIComponent(id)}${shownQuery(c.req.query('query')) ? `?query=${shownQuery(c.req.query('query'))}` : ''}` } }, status);
  };

  mountHelpdesk(app, ctx, kit, devicePage);
  mountApps(app, ctx, kit, devicePage);

  app.get(
    '/devices/:id',
    viewer,
    page((c) => {
      const done = c.req.query('done') ?? '';
      // Only our own words: a crafted link cannot put text on the page.
      const text = Object.hasOwn(DEVICE_DONE, done) ? DEVICE_DONE[done] : undefined;
      return devicePage(c, c.req.param('id') ?? '', text ? { kind: 'ok', text } : undefined);
    }),
  );

  app.post(
    '/devices/:id/tags',
    sameOrigin,
    form,
    viewer,
    page(async (c) => {
      const refused = refuseReadOnly(c, "change a device's tags");
      if (refused) return refused;
      const id = c.req.param('id') ?? '';
      const values = await formValues(c);
      const tags = tagList(typeof values.tags === 'string' ? values.tags : '');
      try {
        await replaceTags(ctx, c.get('principal'), id, tags);
      } catch (err) {
        if (err instanceof AppError && err.code === 'VALIDATION') return devicePage(c, id, { kind: 'error', text: err.message }, 400);
        throw err;
      }
      return c.redirect(`/devices/${encodeURIComponent(id)}?done=tags`, 303);
    }),
  );

  /** Upload needs a manufacturer's session: the build is theirs, and uploadBuild checks the model is too. */
  const uploader: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
    const principal = await sessionOf(ctx, c);
    if (!principal) {
      if (c.req.method !== 'GET') return c.json({ error: { code: 'UNAUTHORIZED', message: 'sign in again' } }, 401);
      return c.redirect(`/login?${new URLSearchParams({ next: UPLOAD_PATH }).toString()}`, 303);
    }
    c.set('principal', principal);
    if (!canUpload(principal.role)) {
      const message = `${principal.name} is an ${principal.role}: builds are uploaded by their manufacturer. Sign in with the manufacturer's token.`;
      if (c.req.method !== 'GET') return c.json({ error: { code: 'FORBIDDEN', message } }, 403);
      return errorPage(c, 403, 'Manufacturers only', message, principal);
    }
    await next();
  };

  app.get(UPLOAD_PATH, uploader, (c) =>
    render(c, <UploadContent maxBytes={ctx.config.maxUploadBytes} />, { title: 'Upload a build', principal: c.get('principal'), section: 'upload', script: UPLOAD_SCRIPT }),
  );

  /** The script's upload: the body is the image, streamed into uploadBuild; answers JSON like the API. */
  app.post(UPLOAD_PATH, sameOrigin, uploader, async (c) => {
    const refuse = (err: AppError) => c.json({ error: { code: err.code, message: err.message } }, statusOf[err.code]);
    const query = uploadQuerySchema.safeParse(c.req.query());
    if (!query.success) {
      const issue = query.error.issues[0];
      return refuse(new AppError('VALIDATION', `${issue?.path.join('.') ?? 'query'}: ${issue?.message ?? 'invalid'}`));
    }
    const declared = Number(c.req.header('content-length') ?? Number.NaN);
    if (declared > ctx.config.maxUploadBytes) return refuse(new AppError('TOO_LARGE', `the image is ${declared} bytes; the limit is ${ctx.config.maxUploadBytes}`));
    const raw = c.req.raw.body;
    if (!raw || declared === 0) return refuse(new AppError('TOO_LARGE', 'the file is empty'));
    try {
      return c.json(await uploadBuild(ctx, c.get('principal'), query.data, Readable.fromWeb(raw as unknown as WebReadableStream<Uint8Array>)), 202);
    } catch (err) {
      if (err instanceof AppError) return refuse(err);
      throw err;
    }
  });

  /** The cohort count for the form's preview: the API's preview, behind the console session. */
  app.get('/campaigns/preview', viewer, async (c) => {
    const parsed = cohortPreviewQuerySchema.safeParse(c.req.query());
    if (!parsed.success) return c.json({ error: { code: 'VALIDATION', message: parsed.error.issues[0]?.message ?? 'invalid cohort' } }, 400);
    try {
      return c.json(await previewCohort(ctx, parsed.data), 200, { 'cache-control': 'no-store' });
    } catch (err) {
      if (err instanceof AppError) return c.json({ error: { code: err.code, message: err.message } }, statusOf[err.code]);
      throw err;
    }
  });
}
