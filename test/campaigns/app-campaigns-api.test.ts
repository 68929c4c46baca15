// Application campaigns through the API, as a user and as an attacker, over real HTTP: the
// create request's app payload (install by component and version or by application id,
// removal by component), what it refuses and how it says so (wrong role, another model's
// or manufacturer's application, unknown applications and components, malformed ids,
// firmware-only settings), the view and list labels, and the CLI's --app flags.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectKeptCountsMatchRows } from '../support/stage-counts.ts';
import type { CampaignView } from '../../src/campaigns/schemas.ts';
import { pseudoRandom } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { fotaInProcess } from '../support/cli.ts';
import { componentsHeldOn } from '../../src/store/queries/app-campaigns.ts';
import { saveDeviceApps } from '../../src/store/queries/scomo.ts';

const MODEL = 'appcamp-api-phone';
const OTHER = 'globex-watch';
let server: TestServer;
let acmeApp: string;
let globexApp: string;

const upload = async (model: string, component: string, version: string, token: string) => {
  const res = await server.api(`/api/v1/apps?model=${model}&component=${component}&version=${version}`, { method: 'POST', token, body: pseudoRandom(3_000, `${model}-${component}-${version}`), headers: { 'content-type': 'application/octet-stream' } });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { id: string }).id;
};

beforeAll(async () => {
  server = await startTestServer();
  acmeApp = await upload(MODEL, 'com.acme.nav', '2.1', server.tokens.acme);
  globexApp = await upload(OTHER, 'com.globex.fit', '1.0', server.tokens.globex);
}, 60_000);

const create = (body: unknown, token = server.tokens.operator) => server.api('/api/v1/campaigns', { method: 'POST', token, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
const base = { name: 'nav', cohort: { model: MODEL }, stages: [{ percent: 100 }] };

async function refusal(body: unknown, token?: string): Promise<{ status: number; code: string; message: string }> {
  const res = await create(body, token);
  const json = (await res.json()) as { error?: { code: string; message: string } };
  return { status: res.status, code: json.error?.code ?? '', message: json.error?.message ?? '' };
}

describe('creating an application campaign', () => {
  it('installs by component and version, or by application id, and shows the payload', async () => {
    const byName = await create({ ...base, app: { component: 'com.acme.nav', version: '2.1' } });
    expect(byName.status, await byName.clone().text()).toBe(201);
    const { id } = (await byName.json()) as { id: string };
    const view = (await (await server.api(`/api/v1/campaigns/${id}`, { token: server.tokens.operator })).json()) as CampaignView;
    expect(view).toMatchObject({ kind: 'application', buildId: null, profileVersionId: null, model: MODEL, targetVersion: 'app com.acme.nav@2.1', app: { operation: 'install', component: 'com.acme.nav', version: '2.1', id: acmeApp } });

    // By id, the model comes from the application.
    const byId = await create({ name: 'nav by id', stages: [{ percent: 100 }], app: { id: acmeApp } });
    expect(byId.status, await byId.clone().text()).toBe(201);

    // A removal names only the component: any the devices report, uploaded or not.
    const removal = await create({ ...base, name: 'no adware', app: { operation: 'remove', component: 'com.shady.adware' } });
    expect(removal.status, await removal.clone().text()).toBe(201);
    const removalId = ((await removal.json()) as { id: string }).id;
    const list = (await (await server.api('/api/v1/campaigns', { token: server.tokens.operator })).json()) as { items: Array<{ id: string; targetVersion: string; app: unknown }> };
    expect(list.items.find((c) => c.id === removalId)).toMatchObject({ targetVersion: 'remove com.shady.adware', app: { operation: 'remove', component: 'com.shady.adware', version: null, id: null } });
    const audit = (await (await server.api(`/api/v1/audit?subject=${removalId}`, { token: server.tokens.admin })).json()) as { items: Array<{ action: string; details: Record<string, unknown> }> };
    expect(audit.items.find((e) => e.action === 'campaign.create')?.details).toMatchObject({ kind: 'application', app: 'remove com.shady.adware' });
  });

  it('is operator work: a missing token, a manufacturer and an admin are refused', async () => {
    expect((await refusal({ ...base, app: { component: 'com.acme.nav', version: '2.1' } }, 'fota_not-a-real-token')).status).toBe(401);
    for (const token of [server.tokens.acme, server.tokens.globex, server.tokens.admin]) {
      // Even the manufacturer that owns the application cannot roll it out.
      expect(await refusal({ ...base, app: { id: acmeApp } }, token)).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    }
  });

  it("refuses another manufacturer's application for the cohort's model, and unknown applications, components and models", async () => {
    expect(await refusal({ ...base, app: { id: globexApp } })).toEqual({ status: 400, code: 'VALIDATION', message: `application ${globexApp} (com.globex.fit 1.0) is for model ${OTHER}, not the cohort model ${MODEL}` });
    expect(await refusal({ ...base, app: { component: 'com.globex.fit', version: '1.0' } })).toEqual({ status: 404, code: 'NOT_FOUND', message: `model ${MODEL} has no application com.globex.fit 1.0; upload it first (fota app upload)` });
    expect(await refusal({ ...base, app: { component: 'com.acme.unknown', version: '1.0' } })).toMatchObject({ status: 404, message: expect.stringContaining('has no application com.acme.unknown 1.0') });
    expect(await refusal({ ...base, app: { component: 'com.acme.nav', version: '9.9' } })).toMatchObject({ status: 404, message: expect.stringContaining('has no application com.acme.nav 9.9') });
    expect(await refusal({ ...base, app: { id: 'app_doesnotexist' } })).toMatchObject({ status: 404, message: 'no application app_doesnotexist (fota app list shows the uploaded ones)' });
    expect(await refusal({ ...base, cohort: { model: 'no-such-model' }, app: { operation: 'remove', component: 'com.acme.nav' } })).toMatchObject({ status: 404, message: 'no model no-such-model' });
    expect(await refusal({ name: 'x', stages: [{ percent: 100 }], app: { component: 'com.acme.nav', version: '2.1' } })).toMatchObject({ status: 400, message: expect.stringContaining('names its cohort\'s model (cohort.model)') });
  });

  it.each([
    ['an install without a version', { component: 'com.acme.nav' }, 'an install names the application: its id, or component and version'],
    ['a removal with a version', { operation: 'remove', component: 'com.acme.nav', version: '1.0' }, 'only an install takes a version'],
    ['no component', { operation: 'remove' }, 'name the component (or the application id)'],
    ['an id and a component', { id: 'app_x', component: 'com.acme.nav', version: '2.1' }, 'give the application id or component and version, not both'],
    ['an unknown operation', { operation: 'reboot', component: 'com.acme.nav' }, 'app.operation Invalid option: expected one of "install"|"remove"|"activate"|"deactivate"'],
    ['a component with a path in it', { operation: 'remove', component: '../../etc/passwd' }, 'app.component must be 1-128 letters'],
    ['a version with markup', { component: 'com.acme.nav', version: '<script>' }, 'app.version must be 1-64 letters'],
    ['an oversized component', { operation: 'remove', component: 'a'.repeat(5_000) }, 'app.component must be 1-128 letters'],
    ['an unknown field', { component: 'com.acme.nav', version: '2.1', node: 'x' }, 'app Unrecognized key: "node"'],
  ])('refuses %s with a clear message', async (_what, app, message) => {
    expect(await refusal({ ...base, app })).toMatchObject({ status: 400, code: 'VALIDATION', message: expect.stringContaining(message) });
  });

  it.each([
    ['two payloads', { buildId: 'bld_x', app: { component: 'com.acme.nav', version: '2.1' } }, 'or an app operation (application campaign): exactly one'],
    ['a firmware mode', { app: { component: 'com.acme.nav', version: '2.1' }, mode: 'twoStep' }, 'mode twoStep is for firmware'],
    ['a bandwidth budget', { app: { component: 'com.acme.nav', version: '2.1' }, bandwidthBytesPerSecond: 100_000 }, 'a bandwidth budget is for firmware downloads'],
    ['a dynamic cohort', { app: { component: 'com.acme.nav', version: '2.1' }, dynamic: true }, "put the version in the model's baseline"],
    ['a user confirmation', { app: { component: 'com.acme.nav', version: '2.1' }, confirm: { text: 'Update navigation?', maxSeconds: 60 } }, 'confirm asks before FUMO steps'],
  ])('refuses %s', async (_what, extra, message) => {
    expect(await refusal({ ...base, ...extra })).toMatchObject({ status: 400, code: 'VALIDATION', message: expect.stringContaining(message) });
  });
});

// Whatever the test did to the campaigns' deployments, their kept counts still match the rows.
afterEach(() => expectKeptCountsMatchRows(server.ctx.db));

describe('starting an application campaign', () => {
  it('leaves out devices whose inventory already shows the target, and holds the component from the baseline until it ends', async () => {
    const ids = ['appcamp-api-0', 'appcamp-api-1', 'appcamp-api-2', 'appcamp-api-3'];
    for (const id of ids) {
      const res = await server.api('/api/v1/devices', { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, model: MODEL, tags: ['api-start'], credentials: { username: id, password: 'device-password' } }) });
      expect(res.status).toBe(201);
    }
    // Inventories as the DM session stores them: 0 and 1 run 1.0, 2 runs 2.1, 3 was never read.
    const record = (version: string) => JSON.stringify({ nodes: [{ node: 'nav', component: 'com.acme.nav', version, state: 'active' }], readAt: 1 });
    await server.ctx.db.transaction(async (tx) => {
      for (const [id, version] of [['appcamp-api-0', '1.0'], ['appcamp-api-1', '1.0'], ['appcamp-api-2', '2.1']] as const) await saveDeviceApps(tx, { deviceId: id, components: record(version), readAt: 1 });
    });
    const res = await create({ ...base, cohort: { model: MODEL, tags: ['api-start'] }, app: { component: 'com.acme.nav', version: '2.1' } });
    const { id } = (await res.json()) as { id: string };
    const started = await server.api(`/api/v1/campaigns/${id}/start`, { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(await started.json()).toMatchObject({ state: 'running', cohortSize: 3, alreadyCurrent: 1 });
    expect([...(await componentsHeldOn(server.ctx.db, 'appcamp-api-0'))]).toEqual(['com.acme.nav']);
    // The device left out is not the campaign's: its baseline goes on as before.
    expect([...(await componentsHeldOn(server.ctx.db, 'appcamp-api-2'))]).toEqual([]);
    await server.api(`/api/v1/campaigns/${id}/abort`, { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: '{}' });
    expect([...(await componentsHeldOn(server.ctx.db, 'appcamp-api-0'))]).toEqual([]);
  });
});

describe('previewing an application campaign', () => {
  const preview = (body: unknown, token = server.tokens.operator) => server.api('/api/v1/cohorts/preview', { method: 'POST', token, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

  it('counts the devices a start would leave out with nothing to do, as the start does; so does --dry-run', async () => {
    const ids = ['appcamp-prev-0', 'appcamp-prev-1', 'appcamp-prev-2', 'appcamp-prev-3'];
    for (const id of ids) {
      const res = await server.api('/api/v1/devices', { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, model: MODEL, tags: ['api-preview'], credentials: { username: id, password: 'device-password' } }) });
      expect(res.status).toBe(201);
    }
    // 0 runs nav 1.0, 1 runs nav 2.1, 2 was never read, 3 reports only another component.
    const record = (component: string, version: string) => JSON.stringify({ nodes: [{ node: 'n', component, version, state: 'active' }], readAt: 1 });
    await server.ctx.db.transaction(async (tx) => {
      await saveDeviceApps(tx, { deviceId: 'appcamp-prev-0', components: record('com.acme.nav', '1.0'), readAt: 1 });
      await saveDeviceApps(tx, { deviceId: 'appcamp-prev-1', components: record('com.acme.nav', '2.1'), readAt: 1 });
      await saveDeviceApps(tx, { deviceId: 'appcamp-prev-3', components: record('com.acme.notes', '1.0'), readAt: 1 });
    });
    const cohort = { model: MODEL, tags: ['api-preview'] };
    const install = await preview({ ...cohort, app: { component: 'com.acme.nav', version: '2.1' } });
    expect(install.status, await install.clone().text()).toBe(200);
    expect(await install.json()).toMatchObject({ devices: 4, alreadyCurrent: 1 });
    // By id, the model comes from the application.
    expect(await (await preview({ tags: ['api-preview'], app: { id: acmeApp } })).json()).toMatchObject({ devices: 4, alreadyCurrent: 1 });
    // Nothing to remove where the component is not reported (never read, or not there).
    expect(await (await preview({ ...cohort, app: { operation: 'remove', component: 'com.acme.nav' } })).json()).toMatchObject({ devices: 4, alreadyCurrent: 2 });
    // A firmware preview has no such count; an unknown application is named, not guessed.
    expect(await (await preview(cohort)).json()).not.toHaveProperty('alreadyCurrent');
    expect((await preview({ ...cohort, app: { component: 'com.acme.nav', version: '9.9' } })).status).toBe(404);
    expect((await preview({ ...cohort, app: { id: globexApp } })).status).toBe(400);
    expect((await preview({ ...cohort, app: { component: 'com.acme.nav', version: '2.1' } }, server.tokens.acme)).status).toBe(403);

    const dry = await fotaInProcess(['campaign', 'create', '--name', 'nav dry', '--app', 'com.acme.nav@2.1', '--model', MODEL, '--tags', 'api-preview', '--stages', '100', '--dry-run', '--server', server.url, '--token', server.tokens.operator]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('cohort: 4 devices');
    expect(dry.stdout).toContain('with nothing to do (left out at start): 1');
  });
});

describe('fota campaign create --app', () => {
  const cli = (...args: string[]) => fotaInProcess(['campaign', ...args, '--server', server.url, '--token', server.tokens.operator]);

  it('creates an install from COMPONENT@VERSION and a removal with --remove; status and list show the payload', async () => {
    const install = await cli('create', '--name', 'nav cli', '--app', 'com.acme.nav@2.1', '--model', MODEL, '--stages', '10!,100');
    expect(install.code, install.stderr).toBe(0);
    const id = install.stdout.trim().split('\n').at(-1) ?? '';
    const status = await cli('status', id);
    expect(status.stdout).toContain(`target: ${MODEL} app com.acme.nav@2.1 (application ${acmeApp})`);
    const removal = await cli('create', '--name', 'no adware cli', '--app', 'com.shady.adware', '--remove', '--model', MODEL, '--stages', '100');
    expect(removal.code, removal.stderr).toBe(0);
    const list = await cli('list');
    expect(list.stdout).toContain(`${MODEL} -> remove com.shady.adware`);
    expect(list.stdout).toContain(`${MODEL} -> app com.acme.nav@2.1`);
  });

  it.each([
    [['--app', 'com.acme.nav'], '--app takes COMPONENT@VERSION'],
    [['--app', 'com.acme.nav@2.1', '--remove'], '--remove acts on whatever version is deployed'],
    [['--remove'], '--remove goes with --app COMPONENT'],
    [['--app', 'com.acme.nav', '--remove', '--activate'], 'give one of --remove, --activate or --deactivate'],
    [['--app', 'com.acme.nav@2.1', '--build', 'bld_x'], 'give one of --build'],
    [['--app', 'com.acme.nav@<x>'], '--app must be 1-64 letters'],
  ])('refuses %j as a usage error', async (flags, message) => {
    const run = await cli('create', '--name', 'bad', '--model', MODEL, '--stages', '100', ...flags);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });
});
