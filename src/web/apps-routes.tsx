// The console's application routes: the catalogue (operators and admins), a manufacturer's
// upload page and its upload, the baselines (read by operators and admins, edited by
// operators), a class of a model's devices behind a compliance count, and the device
// page's one-device SCOMO operations. The console's role rules hold as elsewhere: a
// manufacturer's session only uploads (its own applications, listed on the upload page);
// the fleet's pages are for operators, and admins look without acting. Every POST passes
// the same-origin check (CSRF) and, for forms, the small-body limit.
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Context as HonoContext, Hono, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { statusOf } from '../http/status.ts';
import { componentIdSchema } from '../packages/app-manifest.ts';
import { deviceAppsView, setBaseline } from '../scomo/baseline.ts';
import { appCatalogPage, baselineSummaries, modelBaseline, versionsForModel } from '../scomo/catalog.ts';
import { complianceCounts, devicesInClass, isComplianceClass } from '../scomo/compliance.ts';
import { requestScomo } from '../scomo/deployments.ts';
import { appUploadQuerySchema, baselineSchema, scomoRequestSchema } from '../scomo/schemas.ts';
import { MAX_APP_BYTES, uploadApp } from '../scomo/upload.ts';
import type { Principal } from '../tokens/tokens.ts';
import { APP_PAGE_SIZES, APP_UPLOAD_PATH, APP_UPLOAD_SCRIPT, AppsContent, AppUploadContent, APPS_PATH, type AppsFilter } from './apps.tsx';
import { type BaselineRow, BaselineContent, baselineFromRows, BaselinesContent, ClassDevicesContent, type BaselineRule } from './baselines.tsx';
import { DeviceAppsCard } from './device-apps.tsx';
import type { DevicePage } from './helpdesk.tsx';
import type { Flash } from './layout.tsx';
import { type ConsoleKit, errorPage, render } from './render.tsx';
import { canAct, canUpload, type ConsoleEnv, sessionOf } from './session.ts';

type C = HonoContext<ConsoleEnv>;

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9:._-]{0,127}$/;
const MODEL_PATTERN = /^.{1,200}$/s;
const CLASS_PAGE = 100;
/** The baseline form's rows; the API allows 100 required and 100 forbidden. */
const MAX_FORM_ROWS = 203;

export const SCOMO_DONE = 'Asked: the device gets the SCOMO operation at its next DM session.';

/** The device page's applications card (device id already checked by the page). */
export async function deviceAppsCard(ctx: Context, principal: Principal, device: { id: string; model: string }) {
  return <DeviceAppsCard view={await deviceAppsView(ctx, device.id)} versions={canAct(principal.role) ? await versionsForModel(ctx, device.model) : []} canAct={canAct(principal.role)} />;
}

/** A form field as a list of strings (repeated fields come as arrays; files are ignored). */
function listOf(value: unknown): string[] {
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return values.filter((v): v is string => typeof v === 'string').map((v) => v.trim());
}

function readOnly(c: C, what: string): Response | Promise<Response> | undefined {
  const principal = c.get('principal');
  if (canAct(principal.role)) return undefined;
  return errorPage(c, 403, 'Read-only', `${principal.name} is an ${principal.role}: only an operator can ${what}.`, principal);
}

export function mountApps(app: Hono<ConsoleEnv>, ctx: Context, kit: ConsoleKit, devicePage: DevicePage): void {
  const { viewer, sameOrigin, form, page } = kit;

  /** Upload needs a manufacturer's session: uploadApp then checks the model is theirs. */
  const uploader: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
    const principal = await sessionOf(ctx, c);
    if (!principal) {
      if (c.req.method !== 'GET') return c.json({ error: { code: 'UNAUTHORIZED', message: 'sign in again' } }, 401);
      return c.redirect(`/login?${new URLSearchParams({ next: APP_UPLOAD_PATH }).toString()}`, 303);
    }
    c.set('principal', principal);
    if (!canUpload(principal.role)) {
      const message = `${principal.name} is an ${principal.role}: applications are uploaded by their manufacturer. Sign in with the manufacturer's token.`;
      if (c.req.method !== 'GET') return c.json({ error: { code: 'FORBIDDEN', message } }, 403);
      return errorPage(c, 403, 'Manufacturers only', message, principal);
    }
    await next();
  };

  // Before any '/apps/:x' a later change might add.
  app.get(APP_UPLOAD_PATH, uploader, async (c) => {
    const principal = c.get('principal');
    const mine = await appCatalogPage(ctx, principal, {}, undefined, 50);
    return render(c, <AppUploadContent maxBytes={MAX_APP_BYTES} mine={mine.items} />, { title: 'Upload an application', principal, section: 'app-upload', script: APP_UPLOAD_SCRIPT });
  });

  /** The script's upload: the body is the application, streamed into uploadApp; answers JSON like the API. */
  app.post(APP_UPLOAD_PATH, sameOrigin, uploader, async (c) => {
    const refuse = (err: AppError) => c.json({ error: { code: err.code, message: err.message } }, statusOf[err.code]);
    const query = appUploadQuerySchema.safeParse(c.req.query());
    if (!query.success) {
      const issue = query.error.issues[0];
      return refuse(new AppError('VALIDATION', `${issue?.path.join('.') ?? 'query'}: ${issue?.message ?? 'invalid'}`));
    }
    const declared = Number(c.req.header('content-length') ?? Number.NaN);
    if (declared > MAX_APP_BYTES) return refuse(new AppError('TOO_LARGE', `the application is ${declared} bytes; the limit is ${MAX_APP_BYTES}`));
    const raw = c.req.raw.body;
    if (!raw || declared === 0) return refuse(new AppError('TOO_LARGE', 'the file is empty'));
    try {
      return c.json(await uploadApp(ctx, c.get('principal'), query.data, Readable.fromWeb(raw as unknown as WebReadableStream<Uint8Array>)), 201);
    } catch (err) {
      if (err instanceof AppError) return refuse(err);
      throw err;
    }
  });

  app.get(
    APPS_PATH,
    viewer,
    page(async (c) => {
      const principal = c.get('principal');
      const model = c.req.query('model')?.trim() || undefined;
      const component = c.req.query('component')?.trim() || undefined;
      const before = c.req.query('before') || undefined;
      const perPage = APP_PAGE_SIZES.find((n) => String(n) === c.req.query('per')) ?? APP_PAGE_SIZES[0];
      const filter: AppsFilter = { model, component };
      const problem =
        model !== undefined && !MODEL_PATTERN.test(model)
          ? 'model: at most 200 characters'
          : component !== undefined && !componentIdSchema.safeParse(component).success
            ? `component: ${componentIdSchema.safeParse(component).error?.issues[0]?.message ?? 'invalid'}`
            : before !== undefined && !ID_PATTERN.test(before)
              ? 'That page link is broken: start from the first page.'
              : undefined;
      const result = problem ? { items: [], next: null } : await appCatalogPage(ctx, principal, filter, before, perPage);
      const flash: Flash | undefined = problem ? { kind: 'error', text: problem } : undefined;
      return render(c, <AppsContent page={result} filter={filter} before={problem ? undefined : before} perPage={perPage} />, { title: 'Applications', principal, section: 'apps', flash }, problem ? 400 : 200);
    }),
  );

  app.get(
    '/baselines',
    viewer,
    page(async (c) => render(c, <BaselinesContent models={await baselineSummaries(ctx)} />, { title: 'Baselines', principal: c.get('principal'), section: 'baselines' })),
  );

  const baselinePage = async (c: C, model: string, flash?: Flash, status: ContentfulStatusCode = 200, rows?: BaselineRow[]) => {
    const principal = c.get('principal');
    const view = await modelBaseline(ctx, model);
    const counts = view.baseline ? await complianceCounts(ctx, model) : undefined;
    return render(c, <BaselineContent view={view} counts={counts} canEdit={canAct(principal.role)} rows={rows} />, { title: `Baseline of ${model}`, principal, section: 'baselines', flash }, status);
  };

  app.get(
    '/baselines/:model',
    viewer,
    page((c) => baselinePage(c, c.req.param('model') ?? '', c.req.query('done') === 'saved' ? { kind: 'ok', text: 'Baseline saved: devices are reconciled against it in their next DM sessions.' } : undefined)),
  );

  app.post(
    '/baselines/:model',
    sameOrigin,
    form,
    viewer,
    page(async (c) => {
      const refused = readOnly(c, "change a model's baseline");
      if (refused) return refused;
      const model = c.req.param('model') ?? '';
      const body = await c.req.parseBody({ all: true });
      const components = listOf(body.component);
      const versions = listOf(body.version);
      const rules = listOf(body.rule);
      if (Math.max(components.length, versions.length, rules.length) > MAX_FORM_ROWS) throw new AppError('VALIDATION', `a baseline form has at most ${MAX_FORM_ROWS} rows`);
      const rows: BaselineRow[] = components.map((component, i) => {
        const rule = rules[i];
        return { component, version: versions[i] ?? '', rule: rule === 'required' || rule === 'forbidden' ? rule : ('' as BaselineRule) };
      });
      const parsed = baselineSchema.safeParse(baselineFromRows(rows));
      const kept = rows.filter((r) => r.rule !== '' && r.component !== '');
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        // Name the row the problem is in: apps.N and forbidden.N index the kept rows by rule.
        const [list, index] = issue?.path ?? [];
        const row = typeof index === 'number' ? kept.filter((r) => r.rule === (list === 'apps' ? 'required' : 'forbidden'))[index] : undefined;
        const where = row ? `${row.component || '(no component)'}: ` : '';
        return baselinePage(c, model, { kind: 'error', text: `${where}${issue?.message ?? 'invalid baseline'}` }, 400, kept);
      }
      try {
        await setBaseline(ctx, c.get('principal'), model, parsed.data);
      } catch (err) {
        if (err instanceof AppError && err.code !== 'NOT_FOUND') return baselinePage(c, model, { kind: 'error', text: err.message }, statusOf[err.code], kept);
        throw err;
      }
      return c.redirect(`/baselines/${encodeURIComponent(model)}?done=saved`, 303);
    }),
  );

  app.get(
    '/baselines/:model/devices',
    viewer,
    page(async (c) => {
      const model = c.req.param('model') ?? '';
      const cls = c.req.query('class') ?? '';
      const after = c.req.query('after') || undefined;
      if (!isComplianceClass(cls)) throw new AppError('VALIDATION', 'class must be one of compliant, missing, outdated, inactive, forbidden, unread');
      if (after !== undefined && !ID_PATTERN.test(after)) throw new AppError('VALIDATION', 'That page link is broken: start from the first page.');
      const found = await devicesInClass(ctx, model, cls, after, CLASS_PAGE);
      return render(c, <ClassDevicesContent model={model} cls={cls} devices={found.devices} after={after} next={found.next} />, { title: `${model} devices`, principal: c.get('principal'), section: 'baselines' });
    }),
  );

  app.post(
    '/devices/:id/apps',
    sameOrigin,
    form,
    viewer,
    page(async (c) => {
      const refused = readOnly(c, 'ask a device for a SCOMO operation');
      if (refused) return refused;
      const id = c.req.param('id') ?? '';
      const body = await c.req.parseBody();
      const field = (name: string) => (typeof body[name] === 'string' ? body[name].trim() : '');
      // The install form sends "component@version" from one select; the row buttons send the component.
      const [chosen, chosenVersion] = field('app').split('@');
      const request = {
        operation: field('operation'),
        component: field('component') || chosen || '',
        ...(chosenVersion || field('version') ? { version: chosenVersion || field('version') } : {}),
        ...(field('mode') ? { mode: field('mode') } : {}),
      };
      const parsed = scomoRequestSchema.safeParse(request);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return devicePage(c, id, { kind: 'error', text: `${issue?.path.join('.') || 'request'}: ${issue?.message ?? 'invalid'}` }, 400);
      }
      try {
        await requestScomo(ctx, c.get('principal'), id, parsed.data);
      } catch (err) {
        // A component not deployed, or an operation under way (409), or a version the model lacks.
        if (err instanceof AppError && !(err.code === 'NOT_FOUND' && err.message.startsWith('no device'))) return devicePage(c, id, { kind: 'error', text: err.message }, statusOf[err.code]);
        throw err;
      }
      return c.redirect(`/devices/${encodeURIComponent(id)}?done=scomo`, 303);
    }),
  );
}
