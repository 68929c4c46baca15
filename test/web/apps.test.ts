// The console's application pages over real HTTP, without a browser, as their users and as
// an attacker: the catalogue (what each version shows, filters, pages), the baseline form
// (operators edit, admins read, manufacturers and strangers are refused, forms from
// elsewhere refused) and its compliance counts with the devices behind them, the device
// page's applications card after a reference agent reported its inventory over DM (with
// SCOMO result codes), its one-device operations, and a manufacturer's upload page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceAgent } from '../../src/device/agent.ts';
import { nextBuild, pseudoRandom, tempDirFor } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { deviceApps, getBaseline, putBaseline, scomoDevice, uploadApp } from './apps-harness.ts';
import { get, login, post } from './console-harness.ts';

const MODEL = 'apps-m';
const maps1 = pseudoRandom(30_000, 'maps-1');
const maps2 = nextBuild(maps1, 'maps-2');
const chat1 = pseudoRandom(12_000, 'chat-1');
const adware = pseudoRandom(3_000, 'adware');

let server: TestServer;
let operator: string;
let admin: string;
let acme: string;
let globex: string;
let acmeKeyid: string;
let globexToolId: string;
/** APP-1: maps 1.0 and adware, every install fails (1405) and every removal (1408). APP-2: the baseline's apps. APP-3: never calls in. */
const agents: Record<string, DeviceAgent> = {};

const html = (res: Response) => res.text();
const FULL_BASELINE = { component: ['com.acme.maps', 'com.acme.chat', 'com.shady.adware', ''], version: ['2.0', '1.0', '', ''], rule: ['required', 'required', 'forbidden', ''] };

/** The form as a browser posts it: repeated fields in order. */
function baselineForm(rows: { component: string[]; version: string[]; rule: string[] }): string {
  const body = new URLSearchParams();
  rows.component.forEach((c, i) => {
    body.append('component', c);
    body.append('version', rows.version[i] ?? '');
    body.append('rule', rows.rule[i] ?? '');
  });
  return body.toString();
}

function postBaseline(model: string, rows: { component: string[]; version: string[]; rule: string[] }, options: { cookie?: string; origin?: string | null } = {}): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (options.origin !== null) headers.origin = options.origin ?? server.url;
  if (options.cookie) headers.cookie = options.cookie;
  return fetch(`${server.url}/baselines/${encodeURIComponent(model)}`, { method: 'POST', redirect: 'manual', headers, body: baselineForm(rows) });
}

function postUpload(query: Record<string, string>, body: Uint8Array, options: { cookie?: string; origin?: string | null } = {}): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
  if (options.origin !== null) headers.origin = options.origin ?? server.url;
  if (options.cookie) headers.cookie = options.cookie;
  return fetch(`${server.url}/apps/upload?${new URLSearchParams(query).toString()}`, { method: 'POST', redirect: 'manual', headers, body });
}

beforeAll(async () => {
  server = await startTestServer();
  await uploadApp(server, MODEL, 'com.acme.maps', '1.0', maps1);
  await uploadApp(server, MODEL, 'com.acme.maps', '2.0', maps2);
  await uploadApp(server, MODEL, 'com.acme.chat', '1.0', chat1);
  globexToolId = (await uploadApp(server, 'globex-m', 'com.globex.tool', '1.0', pseudoRandom(2_000, 'tool'), server.tokens.globex)).id;
  acmeKeyid = ((await (await server.api('/api/v1/manufacturers/acme/keys', { token: server.tokens.operator })).json()) as Array<{ keyid: string; status: string }>).find((k) => k.status === 'active')?.keyid ?? '';
  // An empty baseline: the model's devices have their inventory read, nothing else.
  await putBaseline(server, MODEL, { apps: [], forbidden: [] });
  const dir = tempDirFor('console-apps', afterAll);
  agents['APP-1'] = await scomoDevice(server, dir, 'APP-1', MODEL, [
    { node: 'maps', component: 'com.acme.maps', version: '1.0', bytes: maps1, name: 'Maps' },
    { node: 'adware', component: 'com.shady.adware', version: '0.9', bytes: adware, state: 'inactive' },
  ], { install: 1405, remove: 1408 });
  agents['APP-2'] = await scomoDevice(server, dir, 'APP-2', MODEL, [
    { node: 'maps', component: 'com.acme.maps', version: '2.0', bytes: maps2 },
    { node: 'chat', component: 'com.acme.chat', version: '1.0', bytes: chat1 },
  ]);
  agents['APP-3'] = await scomoDevice(server, dir, 'APP-3', MODEL, []);
  await agents['APP-1'].runOnce();
  await agents['APP-2'].runOnce();
  operator = await login(server, server.tokens.operator);
  admin = await login(server, server.tokens.admin);
  const manufacturerCookie = async (token: string) => {
    const res = await post(server, '/login', { token });
    expect(res.status).toBe(303);
    return (res.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '';
  };
  acme = await manufacturerCookie(server.tokens.acme);
  globex = await manufacturerCookie(server.tokens.globex);
}, 120_000);

describe('the applications list', () => {
  it('shows each version with its size, signing key, the versions it has deltas from, and who uploaded it when', async () => {
    const res = await get(server, '/apps', operator);
    expect(res.status).toBe(200);
    const body = await html(res);
    expect(body).toMatch(/data-component="com.acme.maps" data-version="2.0"/);
    const row = body.slice(body.indexOf('data-version="2.0"'), body.indexOf('</tr>', body.indexOf('data-version="2.0"')));
    expect(row).toContain(`${(maps2.length / 1024).toFixed(1)} KiB`);
    expect(row).toContain(acmeKeyid.slice(0, 16));
    expect(row).toMatch(/data-testid="app-deltas"><span class="id">1.0<\/span>/);
    expect(row).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC by acme ci/);
    // Every manufacturer's applications: the console's operators see the whole fleet.
    expect(body).toContain('com.globex.tool');
    expect(body).toContain('<a href="/apps" aria-current="page">Apps</a>');
  });

  it('filters by model and by component', async () => {
    const byComponent = await html(await get(server, '/apps?component=com.acme.maps', operator));
    expect(byComponent.match(/data-testid="app-row"/g)).toHaveLength(2);
    expect(byComponent).not.toContain('com.acme.chat</a>');
    const byModel = await html(await get(server, '/apps?model=globex-m', operator));
    expect(byModel.match(/data-testid="app-row"/g)).toHaveLength(1);
    expect(byModel).toContain(globexToolId);
    const none = await html(await get(server, '/apps?model=no-such-model', operator));
    expect(none).toContain('No application matches this filter.');
  });

  it('refuses a malformed filter or page link with a message, not an error', async () => {
    const bad = await get(server, `/apps?component=${encodeURIComponent('<script>')}`, operator);
    expect(bad.status).toBe(400);
    const body = await html(bad);
    expect(body).toContain('component: must be 1-128 letters');
    expect(body).not.toContain('<script>');
    expect((await get(server, '/apps?before=%27%20or%201%3D1', operator)).status).toBe(400);
  });

  it('walks the catalogue a page at a time, each version once', async () => {
    for (let i = 0; i < 51; i++) await uploadApp(server, 'bulk-m', `com.acme.bulk${String(i).padStart(2, '0')}`, '1.0', pseudoRandom(200, `bulk-${i}`));
    const first = await html(await get(server, '/apps?model=bulk-m', operator));
    const ids = (page: string) => [...page.matchAll(/data-app-id="([^"]+)"/g)].map((m) => m[1]);
    expect(ids(first)).toHaveLength(50);
    const next = /href="([^"]+)" data-testid="apps-next-page"/.exec(first)?.[1]?.replaceAll('&amp;', '&');
    expect(next).toMatch(/^\/apps\?model=bulk-m&before=app_/);
    const second = await html(await get(server, next ?? '', operator));
    expect(ids(second)).toHaveLength(1);
    expect(new Set([...ids(first), ...ids(second)]).size).toBe(51);
    expect(second).not.toContain('data-testid="apps-next-page"');
    expect(second).toContain('first page');
  }, 60_000);

  it('is for operators and admins: strangers sign in first, manufacturers are refused', async () => {
    const anonymous = await get(server, '/apps');
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toBe('/login?next=%2Fapps');
    expect((await get(server, '/apps', admin)).status).toBe(200);
    for (const cookie of [acme, globex]) {
      const res = await get(server, '/apps', cookie);
      expect(res.status).toBe(403);
      expect(await html(res)).not.toContain('com.acme.maps');
    }
  });
});

describe('baselines', () => {
  it('an operator edits a baseline in the form; the page then counts the devices against it', async () => {
    const before = await html(await get(server, `/baselines/${MODEL}`, operator));
    expect(before).toContain('data-testid="baseline-form"');
    const res = await postBaseline(MODEL, FULL_BASELINE, { cookie: operator });
    expect(res.status, await res.clone().text()).toBe(303);
    expect(res.headers.get('location')).toBe(`/baselines/${MODEL}?done=saved`);
    expect((await getBaseline(server, MODEL)).body).toMatchObject({ apps: [{ component: 'com.acme.maps', version: '2.0' }, { component: 'com.acme.chat', version: '1.0' }], forbidden: ['com.shady.adware'] });

    const page = await html(await get(server, `/baselines/${MODEL}?done=saved`, operator));
    expect(page).toContain('Baseline saved');
    expect(page).toContain('set ');
    expect(page).toContain(' by ops.');
    const count = (cls: string) => new RegExp(`data-testid="compliance-${cls}">(?:<a href="([^"]+)">)?(\\d+)`).exec(page);
    // APP-1: maps 1.0 (outdated), no chat (missing), adware present (forbidden) and inactive
    // (not asked for: it is forbidden). APP-2 matches. APP-3 never called in.
    expect(Object.fromEntries(['compliant', 'missing', 'outdated', 'inactive', 'forbidden', 'unread'].map((c) => [c, Number(count(c)?.[2])]))).toEqual({ compliant: 1, missing: 1, outdated: 1, inactive: 0, forbidden: 1, unread: 1 });
    expect(page).toContain('3 devices of apps-m');

    const outdated = count('outdated')?.[1]?.replaceAll('&amp;', '&') ?? '';
    expect(outdated).toBe(`/baselines/${MODEL}/devices?class=outdated`);
    const list = await html(await get(server, outdated, operator));
    expect([...list.matchAll(/<a class="id" href="\/devices\/([^"]+)">/g)].map((m) => m[1])).toEqual(['APP-1']);
    expect(list).toContain('missing a baseline app, running an outdated version, forbidden app present');
    const compliant = await html(await get(server, `/baselines/${MODEL}/devices?class=compliant`, operator));
    expect([...compliant.matchAll(/<a class="id" href="\/devices\/([^"]+)">/g)].map((m) => m[1])).toEqual(['APP-2']);
    const unread = await html(await get(server, `/baselines/${MODEL}/devices?class=unread`, operator));
    expect([...unread.matchAll(/<a class="id" href="\/devices\/([^"]+)">/g)].map((m) => m[1])).toEqual(['APP-3']);
  });

  it('lists every model with its baseline', async () => {
    const body = await html(await get(server, '/baselines', operator));
    expect(body).toMatch(/data-model="apps-m">[\s\S]*?2 required, 1 forbidden/);
    expect(body).toMatch(/data-model="globex-m">[\s\S]*?none/);
  });

  it('refuses a version the model does not have, or a component both required and forbidden, and keeps the baseline', async () => {
    const saved = (await getBaseline(server, MODEL)).body;
    const unknown = await postBaseline(MODEL, { component: ['com.acme.maps'], version: ['9.9'], rule: ['required'] }, { cookie: operator });
    expect(unknown.status).toBe(400);
    const page = await html(unknown);
    expect(page).toContain('model apps-m has no application com.acme.maps 9.9');
    // The operator's rows are kept in the form to correct.
    expect(page).toMatch(/name="version" value="9.9"/);
    const both = await postBaseline(MODEL, { component: ['com.acme.chat', 'com.acme.chat'], version: ['1.0', ''], rule: ['required', 'forbidden'] }, { cookie: operator });
    expect(both.status).toBe(400);
    expect(await html(both)).toContain('com.acme.chat is both required and forbidden');
    const hostile = await postBaseline(MODEL, { component: ['"><script>alert(1)</script>'], version: ['1'], rule: ['forbidden'] }, { cookie: operator });
    expect(hostile.status).toBe(400);
    expect(await html(hostile)).not.toContain('<script>alert(1)');
    expect((await getBaseline(server, MODEL)).body).toEqual(saved);
  });

  it('refuses an oversized form or one with more rows than a baseline can hold, and keeps the baseline', async () => {
    const saved = (await getBaseline(server, MODEL)).body;
    const rows = (n: number, length: number) => ({ component: Array.from({ length: n }, (_, i) => `c${i}`.padEnd(length, 'x')), version: Array.from({ length: n }, () => '1.0'), rule: Array.from({ length: n }, () => 'forbidden') });
    const many = await postBaseline(MODEL, rows(250, 3), { cookie: operator });
    expect(many.status).toBe(400);
    expect(await html(many)).toContain('a baseline form has at most 203 rows');
    const huge = await postBaseline(MODEL, rows(150, 128), { cookie: operator });
    expect(huge.status).toBe(413);
    expect((await getBaseline(server, MODEL)).body).toEqual(saved);
  });

  it('admins read the baseline without a form; their edits are refused', async () => {
    const saved = (await getBaseline(server, MODEL)).body;
    const page = await html(await get(server, `/baselines/${MODEL}`, admin));
    expect(page).not.toContain('data-testid="baseline-form"');
    expect(page).toMatch(/data-testid="baseline-entry" data-component="com.shady.adware" data-rule="forbidden"/);
    expect(page).toContain('data-testid="compliance-compliant"');
    const res = await postBaseline(MODEL, { component: [], version: [], rule: [] }, { cookie: admin });
    expect(res.status).toBe(403);
    expect(await html(res)).toContain('only an operator can change a model');
    expect((await getBaseline(server, MODEL)).body).toEqual(saved);
  });

  it('refuses strangers, manufacturers (even for their own model) and forms from another site', async () => {
    const saved = (await getBaseline(server, MODEL)).body;
    const empty = { component: ['com.acme.maps'], version: ['1.0'], rule: ['required'] };
    for (const path of ['/baselines', `/baselines/${MODEL}`, `/baselines/${MODEL}/devices?class=missing`]) {
      expect((await get(server, path)).status, path).toBe(303);
      expect((await get(server, path, acme)).status, path).toBe(403);
    }
    const anonymous = await postBaseline(MODEL, empty);
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toMatch(/^\/login\?/);
    expect((await postBaseline(MODEL, empty, { cookie: acme })).status).toBe(403);
    expect((await postBaseline(MODEL, empty, { cookie: operator, origin: null })).status).toBe(403);
    expect((await postBaseline(MODEL, empty, { cookie: operator, origin: 'https://evil.example' })).status).toBe(403);
    expect((await getBaseline(server, MODEL)).body).toEqual(saved);
  });

  it('answers an unknown model or class with a page that says so', async () => {
    const missing = await get(server, '/baselines/no-such-model', operator);
    expect(missing.status).toBe(404);
    expect(await html(missing)).toContain('no model no-such-model');
    expect((await postBaseline('no-such-model', { component: [], version: [], rule: [] }, { cookie: operator })).status).toBe(404);
    expect((await get(server, `/baselines/${MODEL}/devices?class=everything`, operator)).status).toBe(400);
    expect((await get(server, `/baselines/globex-m/devices?class=missing`, operator)).status).toBe(404);
  });
});

describe("the device page's applications card", () => {
  it('shows the inventory the device reported over DM and its SCOMO deployments with result codes and meanings', async () => {
    // Reconciled against the new baseline: the device's faults answer each command.
    await agents['APP-1']?.runOnce();
    const page = await html(await get(server, '/devices/APP-1', operator));
    expect(page).toContain('data-testid="device-apps"');
    expect(page).toMatch(/Inventory read \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\./);
    expect(page).toMatch(/data-testid="installed-app" data-component="com.acme.maps" data-version="1.0" data-state="active"/);
    expect(page).toMatch(/data-testid="installed-app" data-component="com.shady.adware" data-version="0.9" data-state="inactive"/);
    expect(page).toContain('Maps');
    const results = [...page.matchAll(/data-component="([^"]+)" data-operation="([^"]+)" data-state="([^"]+)">[\s\S]*?data-testid="scomo-result">([^<]*)</g)].map((m) => `${m[2]} ${m[1]} ${m[3]}: ${m[4]}`).sort();
    expect(results).toEqual(['install com.acme.chat failed: 1405 install failed', 'install com.acme.maps failed: 1405 install failed', 'remove com.shady.adware failed: 1408 remove failed']);
    expect(page).toContain('baseline still asks: install com.acme.maps 2.0; install com.acme.chat 1.0; remove com.shady.adware.');
    expect(page).toContain('<a href="/apps">Apps</a>');
  });

  it('an operator activates, removes or installs on this one device; the card shows the operation scheduled', async () => {
    const before = (await deviceApps(server, 'APP-1')).deployments.length;
    const res = await post(server, '/devices/APP-1/apps', { operation: 'activate', component: 'com.shady.adware' }, { cookie: operator });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/devices/APP-1?done=scomo');
    const after = await deviceApps(server, 'APP-1');
    expect(after.deployments).toHaveLength(before + 1);
    expect(after.deployments.find((d) => d.state === 'scheduled')).toMatchObject({ operation: 'activate', component: 'com.shady.adware' });
    const page = await html(await get(server, '/devices/APP-1?done=scomo', operator));
    expect(page).toContain('the device gets the SCOMO operation at its next DM session');
    expect(page).toMatch(/data-component="com.shady.adware" data-operation="activate" data-state="scheduled"/);
    // A second operation on the same component waits for the first.
    const again = await post(server, '/devices/APP-1/apps', { operation: 'remove', component: 'com.shady.adware' }, { cookie: operator });
    expect(again.status).toBe(409);
    expect(await html(again)).toContain('already has a SCOMO operation on com.shady.adware under way');

    const install = await post(server, '/devices/APP-3/apps', { operation: 'install', app: 'com.acme.chat@1.0', mode: 'twoStep' }, { cookie: operator });
    expect(install.status).toBe(303);
    expect((await deviceApps(server, 'APP-3')).deployments).toMatchObject([{ operation: 'install', component: 'com.acme.chat', state: 'scheduled' }]);
  });

  it("refuses an operation on a component only another device has, or another model's application", async () => {
    const app1 = (await deviceApps(server, 'APP-1')).deployments.length;
    const app2 = (await deviceApps(server, 'APP-2')).deployments.length;
    // APP-2 runs chat; APP-1 does not: knowing the component is not enough.
    const elsewhere = await post(server, '/devices/APP-1/apps', { operation: 'remove', component: 'com.acme.chat' }, { cookie: operator });
    expect(elsewhere.status).toBe(409);
    expect(await html(elsewhere)).toContain('has not reported com.acme.chat deployed');
    const foreign = await post(server, '/devices/APP-1/apps', { operation: 'install', app: 'com.globex.tool@1.0' }, { cookie: operator });
    expect(foreign.status).toBe(404);
    expect(await html(foreign)).toContain('model apps-m has no application com.globex.tool 1.0');
    const bogus = await post(server, '/devices/APP-1/apps', { operation: 'format-disk', component: 'com.acme.maps' }, { cookie: operator });
    expect(bogus.status).toBe(400);
    expect((await deviceApps(server, 'APP-1')).deployments).toHaveLength(app1);
    expect((await deviceApps(server, 'APP-2')).deployments).toHaveLength(app2);
    expect((await post(server, '/devices/NO-SUCH/apps', { operation: 'remove', component: 'com.acme.maps' }, { cookie: operator })).status).toBe(404);
  });

  it('admins see the card without its forms; admins, manufacturers, strangers and other sites cannot act', async () => {
    const page = await html(await get(server, '/devices/APP-2', admin));
    expect(page).toContain('data-testid="device-apps"');
    expect(page).not.toContain('data-testid="app-install-form"');
    expect(page).not.toContain('action="/devices/APP-2/apps"');
    const count = (await deviceApps(server, 'APP-2')).deployments.length;
    const fields = { operation: 'remove', component: 'com.acme.maps' };
    const admins = await post(server, '/devices/APP-2/apps', fields, { cookie: admin });
    expect(admins.status).toBe(403);
    expect(await html(admins)).toContain('only an operator can ask a device for a SCOMO operation');
    expect((await post(server, '/devices/APP-2/apps', fields, { cookie: acme })).status).toBe(403);
    expect((await get(server, '/devices/APP-2', acme)).status).toBe(403);
    const anonymous = await post(server, '/devices/APP-2/apps', fields);
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toMatch(/^\/login\?/);
    expect((await post(server, '/devices/APP-2/apps', fields, { cookie: operator, origin: null })).status).toBe(403);
    expect((await post(server, '/devices/APP-2/apps', fields, { cookie: operator, origin: 'https://evil.example' })).status).toBe(403);
    expect((await deviceApps(server, 'APP-2')).deployments).toHaveLength(count);
  });
});

describe("a manufacturer's application upload", () => {
  it("lists the manufacturer's own applications only", async () => {
    const mine = await get(server, '/apps/upload', acme);
    expect(mine.status).toBe(200);
    const body = await html(mine);
    expect(body).toContain('data-testid="app-upload-form"');
    // The newest 50: the bulk uploads of the catalogue test.
    expect(body).toContain('com.acme.bulk50');
    expect(body).not.toContain('com.globex.tool');
    expect(body).toContain('<a href="/apps/upload" aria-current="page">Upload an app</a>');
    const theirs = await html(await get(server, '/apps/upload', globex));
    expect(theirs).toContain(globexToolId);
    expect(theirs).not.toContain('com.acme.');
  });

  it('uploads the body as an application version of its own model, answered as the API answers', async () => {
    const res = await postUpload({ model: MODEL, component: 'com.acme.maps', version: '3.0' }, nextBuild(maps2, 'maps-3'), { cookie: acme });
    expect(res.status, await res.clone().text()).toBe(201);
    const made = (await res.json()) as { id: string; packages: Array<{ kind: string; fromVersion: string | null }> };
    expect(made.packages.map((p) => `${p.kind}:${p.fromVersion}`).sort()).toEqual(['bsdiff40:1.0', 'bsdiff40:2.0', 'full:null']);
    expect(await html(await get(server, '/apps?component=com.acme.maps', operator))).toContain(made.id);
  });

  it("refuses another manufacturer's model, other roles, strangers and other sites, and adds nothing", async () => {
    const count = async () => ((await html(await get(server, `/apps?model=${MODEL}`, operator))).match(/data-testid="app-row"/g) ?? []).length;
    const before = await count();
    const bytes = pseudoRandom(1_000, 'intruder');
    const q = { model: MODEL, component: 'com.globex.trojan', version: '1.0' };
    const intruder = await postUpload(q, bytes, { cookie: globex });
    expect(intruder.status).toBe(403);
    expect(((await intruder.json()) as { error: { message: string } }).error.message).toContain('belongs to another manufacturer');
    expect((await postUpload(q, bytes, { cookie: operator })).status).toBe(403);
    expect((await postUpload(q, bytes)).status).toBe(401);
    expect((await postUpload(q, bytes, { cookie: acme, origin: null })).status).toBe(403);
    expect((await postUpload(q, bytes, { cookie: acme, origin: 'https://evil.example' })).status).toBe(403);
    expect((await postUpload({ ...q, component: '../../etc' }, bytes, { cookie: acme })).status).toBe(400);
    expect(await count()).toBe(before);
    const page = await get(server, '/apps/upload', operator);
    expect(page.status).toBe(403);
    expect(await html(page)).toContain('applications are uploaded by their manufacturer');
    const anonymous = await get(server, '/apps/upload');
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toBe('/login?next=%2Fapps%2Fupload');
    // Signing in from there comes back to the application upload.
    const signedIn = await post(server, '/login', { token: server.tokens.acme, next: '/apps/upload' });
    expect(signedIn.headers.get('location')).toBe('/apps/upload');
  });
});
