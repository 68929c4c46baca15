// Application packages, baselines and a device's applications through the management API:
// happy paths, refusals, and the attacker's view (no token, the other manufacturer's token,
// the wrong role), on SQLite and PostgreSQL.
import { beforeAll, describe, expect, it } from 'vitest';
import { checkEnvelope } from '../../src/packages/verify.ts';
import { appManifestSchema } from '../../src/packages/app-manifest.ts';
import { verifyEnvelope } from '../../src/signing/envelope.ts';
import { parseTrust } from '../../src/device/trust.ts';
import { findAppPackage } from '../../src/store/queries/scomo.ts';
import { createTestApi, errorOf, type TestApi } from '../support/api.ts';
import { declaredRoutes, itRefusesTheWrongCaller } from '../support/api-auth.ts';
import { nextBuild, pseudoRandom } from '../support/harness.ts';

let api: TestApi;
const v1 = pseudoRandom(60_000, 'app-v1');
const v2 = nextBuild(v1, 'app-v2');

const upload = (query: string, body: Uint8Array, token: string) => api.request(`/api/v1/apps?${query}`, { method: 'POST', token, body, headers: { 'content-type': 'application/octet-stream' } });
const json = async <T>(res: Response) => (await res.json()) as T;
interface AppBody {
  id: string;
  component: string;
  version: string;
  packages: Array<{ id: string; kind: string; fromVersion: string | null }>;
}

beforeAll(async () => {
  api = await createTestApi();
});

describe('application uploads', () => {
  it('signs the application like firmware, kind application, and offers a delta from the earlier version', async () => {
    const first = await upload('model=apps-phone&component=com.acme.notes&version=1.0', v1, api.tokens.acme);
    expect(first.status, await first.clone().text()).toBe(201);
    const second = await upload('model=apps-phone&component=com.acme.notes&version=1.1', v2, api.tokens.acme);
    expect(second.status).toBe(201);
    const body = await json<AppBody>(second);
    expect(body).toMatchObject({ component: 'com.acme.notes', version: '1.1' });
    expect(body.packages.map((p) => `${p.kind}:${p.fromVersion}`).sort()).toEqual(['bsdiff40:1.0', 'full:null']);

    const delta = body.packages.find((p) => p.kind === 'bsdiff40');
    const row = delta ? await findAppPackage(api.ctx.db, delta.id) : undefined;
    const envelope = JSON.parse(row?.envelope ?? '{}');
    const trust = parseTrust(await (await api.request('/api/v1/manufacturers/acme/keys', { token: api.tokens.operator })).text(), 'keys');
    expect(verifyEnvelope(envelope, trust).ok).toBe(true);
    expect(appManifestSchema.parse(envelope.signed)).toMatchObject({ kind: 'application', model: 'apps-phone', component: { id: 'com.acme.notes', version: '1.1' }, source: { version: '1.0' } });
    // A firmware device handed an application package refuses it rather than flashing it.
    expect(checkEnvelope(envelope, trust)).toMatchObject({ ok: false, resultCode: 402 });
  });

  it('refuses a duplicate version, an empty body and hostile names', async () => {
    expect((await upload('model=apps-phone&component=com.acme.notes&version=1.0', v1, api.tokens.acme)).status).toBe(409);
    expect((await upload('model=apps-phone&component=com.acme.empty&version=1.0', new Uint8Array(0), api.tokens.acme)).status).toBe(413);
    for (const query of ['model=apps-phone&component=../../etc/passwd&version=1.0', 'model=apps-phone&component=com.acme.x&version=1.0%20<b>', 'model=apps-phone&component=&version=1.0', `model=apps-phone&component=${'a'.repeat(200)}&version=1`, 'model=apps-phone&component=com.acme.x']) {
      const res = await upload(query, v1, api.tokens.acme);
      expect(res.status, query).toBe(400);
      expect((await errorOf(res)).code).toBe('VALIDATION');
    }
  });

  it("keeps a manufacturer to its own models and applications", async () => {
    // globex cannot publish into acme's model, nor see acme's applications.
    const res = await upload('model=apps-phone&component=com.globex.spy&version=1.0', v1, api.tokens.globex);
    expect(res.status).toBe(403);
    const list = await json<{ items: AppBody[] }>(await api.request('/api/v1/apps', { token: api.tokens.globex }));
    expect(list.items).toEqual([]);
    const own = await json<{ items: AppBody[] }>(await api.request('/api/v1/apps?model=apps-phone', { token: api.tokens.acme }));
    expect(own.items.map((a) => a.version)).toEqual(['1.1', '1.0']);
    const id = own.items[0]?.id ?? '';
    expect((await api.request(`/api/v1/apps/${id}`, { token: api.tokens.globex })).status).toBe(404);
    expect((await api.request(`/api/v1/apps/${id}`, { token: api.tokens.operator })).status).toBe(200);
    // An operator may read but never publish.
    expect((await upload('model=apps-phone&component=com.ops.x&version=1.0', v1, api.tokens.operator)).status).toBe(403);
  });
});

describe('baselines', () => {
  const put = (model: string, body: unknown, token = api.tokens.operator) => api.request(`/api/v1/baselines/${model}`, { method: 'PUT', token, json: body });

  it('an operator sets one from uploaded versions; the manufacturer of the model can read it, another cannot', async () => {
    const res = await put('apps-phone', { apps: [{ component: 'com.acme.notes', version: '1.1' }], forbidden: ['com.bad.toolbar'] });
    expect(res.status, await res.clone().text()).toBe(200);
    const shown = await json<{ apps: unknown[]; forbidden: string[] }>(await api.request('/api/v1/baselines/apps-phone', { token: api.tokens.acme }));
    expect(shown).toMatchObject({ model: 'apps-phone', apps: [{ component: 'com.acme.notes', version: '1.1' }], forbidden: ['com.bad.toolbar'] });
    expect((await api.request('/api/v1/baselines/apps-phone', { token: api.tokens.globex })).status).toBe(404);
    // The manufacturer publishes; deciding what the fleet runs is the operator's.
    expect((await put('apps-phone', { apps: [] }, api.tokens.acme)).status).toBe(403);
  });

  it('refuses versions that were never uploaded, contradictions and unknown fields', async () => {
    const cases: unknown[] = [
      { apps: [{ component: 'com.acme.notes', version: '9.9' }] },
      { apps: [{ component: 'com.acme.notes', version: '1.0' }, { component: 'com.acme.notes', version: '1.1' }] },
      { apps: [{ component: 'com.acme.notes', version: '1.1' }], forbidden: ['com.acme.notes'] },
      { apps: [], extra: true },
      { apps: [{ component: '<script>', version: '1' }] },
      { apps: Array.from({ length: 101 }, (_, i) => ({ component: `c${i}`, version: '1' })) },
    ];
    for (const body of cases) {
      const res = await put('apps-phone', body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
    }
    expect((await put('no-such-model', { apps: [] })).status).toBe(404);
  });
});

describe("a device's applications", () => {
  it('shows what the baseline still asks of a device not yet read, and refuses operations it cannot place', async () => {
    const created = await api.request('/api/v1/devices', { method: 'POST', token: api.tokens.operator, json: { id: 'apps-dev-1', model: 'apps-phone', credentials: { username: 'apps-dev-1', password: 'device-password' } } });
    expect(created.status).toBe(201);
    const view = await json<{ components: unknown[]; drift: unknown[]; readAt: string | null }>(await api.request('/api/v1/devices/apps-dev-1/apps', { token: api.tokens.operator }));
    expect(view).toMatchObject({ readAt: null, components: [], drift: [{ operation: 'install', component: 'com.acme.notes', version: '1.1' }] });
    const ask = (body: unknown) => api.request('/api/v1/devices/apps-dev-1/apps', { method: 'POST', token: api.tokens.operator, json: body });
    expect((await ask({ operation: 'remove', component: 'com.acme.notes' })).status).toBe(409);
    expect((await ask({ operation: 'install', component: 'com.acme.notes' })).status).toBe(400);
    expect((await ask({ operation: 'install', component: 'com.acme.notes', version: '7.0' })).status).toBe(404);
    const made = await ask({ operation: 'install', component: 'com.acme.notes', version: '1.0', mode: 'twoStep' });
    expect(made.status).toBe(201);
    const { id } = await json<{ id: string }>(made);
    expect(await json(await api.request(`/api/v1/scomo-deployments/${id}`, { token: api.tokens.operator }))).toMatchObject({ state: 'scheduled', operation: 'install', mode: 'twoStep', reason: 'operator' });
    // One operation per component at a time.
    expect((await ask({ operation: 'install', component: 'com.acme.notes', version: '1.1' })).status).toBe(409);
    // Manufacturers do not manage devices: not even the model's own.
    expect((await api.request(`/api/v1/scomo-deployments/${id}`, { token: api.tokens.acme })).status).toBe(403);
    expect((await api.request('/api/v1/devices/apps-dev-1/apps', { token: api.tokens.acme })).status).toBe(403);
  });
});

describe('security of the SCOMO routes', () => {
  itRefusesTheWrongCaller(
    () => api,
    declaredRoutes().filter((r) => /^\/api\/v1\/(apps|baselines|scomo-deployments)|\/apps$/.test(r.path)),
  );
});
