// The list routes through real HTTP on loopback: builds, packages, devices, deployments,
// campaigns and the audit log, each walked page by page (every item exactly once, also
// while rows are inserted between pages), filtered, refused with a clear 400 for a bad
// limit or cursor, and scoped: a manufacturer lists only its own builds and packages,
// whatever filter or forged cursor it sends, and none of the operator's lists.
import { beforeAll, describe, expect, it } from 'vitest';
import { listAuditRoute, listBuildsRoute, listDeploymentsRoute, listDevicesRoute, listPackagesRoute } from '../../src/api/routes/lists.ts';
import { listCampaignsRoute } from '../../src/api/routes/campaigns.ts';
import { changeTagsRoute } from '../../src/api/routes/device-tags.ts';
import type { ApiRoute } from '../../src/api/spec.ts';
import { encodeCursor } from '../../src/store/page.ts';
import { updateDevice } from '../../src/store/queries/devices.ts';
import { declaredBody, errorOf } from '../support/api.ts';
import { nextBuild, pseudoRandom } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
const A = 'lst-a';
const G = 'lst-g';
/** lst-a 1.0, lst-a 1.1 (acme), lst-g 1.0 (globex). */
const builds: Record<string, string> = {};
/** 45 lst-a devices on 1.0: even ones tagged "even", multiples of 5 also "five". */
const deviceIds = Array.from({ length: 45 }, (_, i) => `lst-a-${String(i).padStart(3, '0')}`);
let campaignId = '';

interface Page<T = Record<string, unknown>> {
  items: T[];
  nextCursor: string | null;
}

const get = (path: string, token: string) => server.api(path, { token });
const post = (path: string, token: string, body: unknown) => server.api(path, { method: 'POST', token, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function register(id: string, model: string, tags: string[] = []): Promise<void> {
  const res = await post('/api/v1/devices', server.tokens.operator, { id, model, firmwareVersion: '1.0', tags, credentials: { username: id, password: 'device-password' } });
  expect(res.status, await res.clone().text()).toBe(201);
}

/** One page, checked against the schema its route declares. */
async function page<T = Record<string, unknown>>(route: ApiRoute, path: string, token = server.tokens.operator): Promise<Page<T>> {
  const res = await get(path, token);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await declaredBody(route, res)) as Page<T>;
}

/** Follows the cursors from the first page to the last; `between` runs after each page. */
async function walk<T extends { id: string }>(route: ApiRoute, path: string, options: { token?: string; between?: (n: number) => Promise<void> } = {}): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const current: Page<T> = await page<T>(route, `${path}${cursor === null ? '' : `${sep}cursor=${encodeURIComponent(cursor)}`}`, options.token);
    ids.push(...current.items.map((item) => item.id));
    cursor = current.nextCursor;
    pages += 1;
    await options.between?.(pages);
    expect(pages).toBeLessThan(1000);
  } while (cursor !== null);
  return { ids, pages };
}

const once = (ids: string[]) => expect(new Set(ids).size, 'no item served twice').toBe(ids.length);

beforeAll(async () => {
  server = await startTestServer();
  const v1 = pseudoRandom(20_000, 'lists-v1');
  for (const [key, model, version, image, token] of [
    ['a1.0', A, '1.0', v1, server.tokens.acme],
    ['a1.1', A, '1.1', nextBuild(v1), server.tokens.acme],
    ['g1.0', G, '1.0', pseudoRandom(20_000, 'lists-g'), server.tokens.globex],
  ] as const) {
    const build = await server.upload(model, version, image, token);
    expect(build.status).toBe('ready');
    builds[key] = build.id;
  }
  for (const [i, id] of deviceIds.entries()) await register(id, A, [...(i % 2 === 0 ? ['even'] : []), ...(i % 5 === 0 ? ['five'] : [])]);
  for (const id of ['lst-g-1', 'lst-g-2']) await register(id, G);
  const created = await post('/api/v1/campaigns', server.tokens.operator, { name: 'lists', buildId: builds['a1.1'], cohort: { model: A, tags: ['even'] }, stages: [{ percent: 10 }, { percent: 100 }] });
  expect(created.status, await created.clone().text()).toBe(201);
  campaignId = ((await created.json()) as { id: string }).id;
  expect((await post(`/api/v1/campaigns/${campaignId}/start`, server.tokens.operator, {})).status).toBe(200);
}, 180_000);

describe('builds and packages', () => {
  it('lists every build once, newest first, one per page', async () => {
    const { ids, pages } = await walk(listBuildsRoute, '/api/v1/builds?limit=1', { token: server.tokens.admin });
    expect(ids).toEqual([builds['g1.0'], builds['a1.1'], builds['a1.0']]);
    expect(pages).toBe(3);
  });

  it('filters builds by model and version', async () => {
    const byModel = await page(listBuildsRoute, `/api/v1/builds?model=${A}`);
    expect(byModel.items.map((b) => b.id)).toEqual([builds['a1.1'], builds['a1.0']]);
    expect(byModel.items[0]).toMatchObject({ model: A, version: '1.1', status: 'ready' });
    expect((await page(listBuildsRoute, `/api/v1/builds?model=${A}&version=1.0`)).items.map((b) => b.id)).toEqual([builds['a1.0']]);
    expect(await page(listBuildsRoute, '/api/v1/builds?model=no-such-model')).toEqual({ items: [], nextCursor: null });
  });

  it("shows a manufacturer only its own builds, whatever it filters by or forges as a cursor", async () => {
    expect((await walk(listBuildsRoute, '/api/v1/builds?limit=1', { token: server.tokens.acme })).ids).toEqual([builds['a1.1'], builds['a1.0']]);
    expect((await page(listBuildsRoute, '/api/v1/builds', server.tokens.globex)).items.map((b) => b.id)).toEqual([builds['g1.0']]);
    // Naming the other manufacturer's model or starting past its build reveals nothing.
    expect((await page(listBuildsRoute, `/api/v1/builds?model=${G}`, server.tokens.acme)).items).toEqual([]);
    const forged = encodeCursor('builds', 'bld_zzzzzzzzzzzzzzzzzzzzzzzzzz');
    expect((await page(listBuildsRoute, `/api/v1/builds?cursor=${forged}`, server.tokens.acme)).items.map((b) => b.id)).toEqual([builds['a1.1'], builds['a1.0']]);
  });

  it('lists packages by build, model and kind, and a manufacturer only its own', async () => {
    const ofBuild = await page<{ id: string; kind: string; fromVersion: string | null; buildId: string }>(listPackagesRoute, `/api/v1/packages?build=${builds['a1.1']}`);
    expect(ofBuild.items.map((p) => [p.kind, p.fromVersion]).sort()).toEqual([
      ['bsdiff40', '1.0'],
      ['full', null],
    ]);
    expect((await page(listPackagesRoute, `/api/v1/packages?model=${A}&kind=full`)).items).toHaveLength(2);
    const all = await walk(listPackagesRoute, '/api/v1/packages?limit=2', { token: server.tokens.admin });
    expect(all.ids).toHaveLength(4);
    once(all.ids);
    const acme = await walk(listPackagesRoute, '/api/v1/packages', { token: server.tokens.acme });
    expect(acme.ids).toHaveLength(3);
    expect((await page(listPackagesRoute, `/api/v1/packages?build=${builds['g1.0']}`, server.tokens.acme)).items).toEqual([]);
    expect((await page(listPackagesRoute, `/api/v1/packages?build=${builds['g1.0']}`, server.tokens.globex)).items).toHaveLength(1);
  });
});

describe('devices', () => {
  it('walks the fleet in id order, each device exactly once', async () => {
    const { ids, pages } = await walk(listDevicesRoute, '/api/v1/devices?limit=7');
    expect(ids).toEqual([...deviceIds, 'lst-g-1', 'lst-g-2']);
    expect(pages).toBe(7);
  });

  it('filters by model, version, tag and campaign', async () => {
    const even = await walk<{ id: string; tags: string[] }>(listDevicesRoute, '/api/v1/devices?tag=even&limit=10');
    expect(even.ids).toEqual(deviceIds.filter((_, i) => i % 2 === 0));
    expect((await walk(listDevicesRoute, '/api/v1/devices?tag=five')).ids).toEqual(deviceIds.filter((_, i) => i % 5 === 0));
    expect((await walk(listDevicesRoute, `/api/v1/devices?model=${G}&version=1.0`)).ids).toEqual(['lst-g-1', 'lst-g-2']);
    expect((await page(listDevicesRoute, `/api/v1/devices?model=${G}&version=2.0`)).items).toEqual([]);
    // A tag is matched whole: "eve" is not "even".
    expect((await page(listDevicesRoute, '/api/v1/devices?tag=eve')).items).toEqual([]);
    expect((await walk(listDevicesRoute, `/api/v1/devices?campaign=${campaignId}&limit=500`)).ids).toEqual(deviceIds.filter((_, i) => i % 2 === 0));
  });

  it('lists devices not seen since a time, and those never seen', async () => {
    const at = Date.parse('2026-11-01T00:00:00Z');
    // As a DM session records a contact (no device agent runs in this file).
    await server.ctx.db.transaction(async (tx) => {
      await updateDevice(tx, 'lst-g-1', { lastSeen: at - 1000 });
      await updateDevice(tx, 'lst-g-2', { lastSeen: at + 1000 });
    });
    const stale = await walk(listDevicesRoute, `/api/v1/devices?model=${G}&lastSeenBefore=2026-11-01T00:00:00Z`);
    expect(stale.ids).toEqual(['lst-g-1']);
    const first = await page<{ id: string; lastSeen: string | null }>(listDevicesRoute, `/api/v1/devices?model=${G}`);
    expect(first.items.map((d) => d.lastSeen)).toEqual(['2026-10-31T23:59:59.000Z', '2026-11-01T00:00:01.000Z']);
    expect((await walk(listDevicesRoute, `/api/v1/devices?model=${A}&lastSeenBefore=2026-11-01T00:00:00%2B01:00`)).ids).toHaveLength(45);
    const bad = await get('/api/v1/devices?lastSeenBefore=yesterday', server.tokens.operator);
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).message).toContain('lastSeenBefore must be an ISO 8601 time');
  });

  it('serves every device there was exactly once while others register between pages', async () => {
    const before = (await walk(listDevicesRoute, `/api/v1/devices?model=${A}&limit=500`)).ids;
    let added = 0;
    const { ids } = await walk(listDevicesRoute, `/api/v1/devices?model=${A}&limit=6`, {
      // New ids land before, inside and after the pages already served.
      between: async (n) => {
        await Promise.all([`lst-a-000-new-${n}`, `lst-a-022-new-${n}`, `lst-a-999-new-${n}`].map((id) => register(id, A)));
        added += 3;
      },
    });
    once(ids);
    for (const id of before) expect(ids.filter((x) => x === id), id).toHaveLength(1);
    expect(added).toBeGreaterThan(0);
    // Ids after the cursor when they arrived are served too; those before it are not.
    expect(ids).toEqual(expect.arrayContaining(['lst-a-022-new-1', 'lst-a-999-new-1']));
    expect(ids).not.toContain('lst-a-000-new-1');
  });
});

describe('deployments and campaigns', () => {
  it("walks a campaign's deployments once each, by stage and by state", async () => {
    const all = await walk<{ id: string }>(listDeploymentsRoute, `/api/v1/deployments?campaign=${campaignId}&limit=4`);
    expect(all.ids).toHaveLength(23);
    once(all.ids);
    const stage0 = (await walk(listDeploymentsRoute, `/api/v1/deployments?campaign=${campaignId}&stage=0`)).ids;
    const stage1 = (await walk(listDeploymentsRoute, `/api/v1/deployments?campaign=${campaignId}&stage=1`)).ids;
    expect(stage0.length).toBeGreaterThan(0);
    expect([...stage0, ...stage1].sort()).toEqual([...all.ids].sort());
    const pending = await page<{ state: string; stage: number; campaignId: string }>(listDeploymentsRoute, `/api/v1/deployments?campaign=${campaignId}&state=pending&limit=500`);
    expect(pending.items.length).toBe(stage1.length);
    for (const d of pending.items) expect(d).toMatchObject({ state: 'pending', stage: 1, campaignId });
    expect((await page(listDeploymentsRoute, `/api/v1/deployments?campaign=${campaignId}&resultCode=410`)).items).toEqual([]);
    const ofDevice = await page<{ deviceId: string }>(listDeploymentsRoute, `/api/v1/deployments?device=${deviceIds[0]}`);
    expect(ofDevice.items.map((d) => d.deviceId)).toEqual([deviceIds[0]]);
  });

  it('answers limit=1 with one campaign and a cursor to the next, and filters by state', async () => {
    const draft = await post('/api/v1/campaigns', server.tokens.operator, { name: 'lists draft', buildId: builds['a1.1'], cohort: { model: A, tags: ['five'] }, stages: [{ percent: 100 }] });
    const draftId = ((await draft.json()) as { id: string }).id;
    const first = await page<{ id: string }>(listCampaignsRoute, '/api/v1/campaigns?limit=1');
    expect(first.items.map((c) => c.id)).toEqual([draftId]);
    expect(first.nextCursor).not.toBeNull();
    expect((await walk(listCampaignsRoute, '/api/v1/campaigns?limit=1')).ids).toEqual([draftId, campaignId]);
    expect((await page(listCampaignsRoute, '/api/v1/campaigns?state=running')).items.map((c) => c.id)).toEqual([campaignId]);
    expect((await page(listCampaignsRoute, '/api/v1/campaigns?state=draft')).items).toMatchObject([{ id: draftId, state: 'draft', totals: { pending: 0 } }]);
    expect((await get('/api/v1/campaigns?state=sleeping', server.tokens.operator)).status).toBe(400);
  });
});

describe('audit log', () => {
  it('filters by action, subject and actor, newest first', async () => {
    const registered = await walk<{ id: string }>(listAuditRoute, '/api/v1/audit?action=device.register&limit=100');
    expect(registered.ids.length).toBeGreaterThanOrEqual(47);
    const ofDevice = await page<{ subject: string; action: string; actor: string; details: Record<string, unknown> }>(listAuditRoute, `/api/v1/audit?subject=${deviceIds[3]}`);
    expect(ofDevice.items).toMatchObject([{ subject: deviceIds[3], action: 'device.register', details: { model: A } }]);
    const actor = ofDevice.items[0]?.actor ?? '';
    const byActor = await page<{ actor: string }>(listAuditRoute, `/api/v1/audit?actor=${encodeURIComponent(actor)}&limit=500`);
    expect(byActor.items.length).toBeGreaterThan(0);
    for (const event of byActor.items) expect(event.actor).toBe(actor);
    // The admin reads it too; what a token did is never the token.
    const asAdmin = await get('/api/v1/audit?limit=500', server.tokens.admin);
    const text = await asAdmin.text();
    expect(asAdmin.status).toBe(200);
    for (const token of Object.values(server.tokens)) expect(text).not.toContain(token);
  });

  it('serves every event there was exactly once while new ones are recorded between pages', async () => {
    const before = (await walk(listAuditRoute, '/api/v1/audit?limit=500')).ids;
    const { ids } = await walk(listAuditRoute, '/api/v1/audit?limit=9', { between: (n) => register(`lst-audit-${n}`, G) });
    once(ids);
    // Newest first: events recorded during the walk come before its cursor and are not served.
    expect(ids).toEqual(before);
  });
});

describe('device tags', () => {
  it('adds and removes tags in one audited step; the devices list sees them', async () => {
    const id = deviceIds[1] ?? '';
    const res = await post(`/api/v1/devices/${id}/tags`, server.tokens.operator, { add: ['lab', 'north'], remove: ['even'] });
    expect(res.status).toBe(200);
    expect(await declaredBody(changeTagsRoute, res)).toEqual({ id, tags: ['lab', 'north'] });
    const again = await post(`/api/v1/devices/${id}/tags`, server.tokens.operator, { remove: ['north'] });
    expect(await again.json()).toEqual({ id, tags: ['lab'] });
    expect((await page(listDevicesRoute, '/api/v1/devices?tag=lab')).items.map((d) => d.id)).toEqual([id]);
    const audit = await page<{ action: string; details: unknown }>(listAuditRoute, `/api/v1/audit?subject=${id}&action=device.tags`);
    expect(audit.items.map((e) => e.details)).toEqual([
      { before: ['lab', 'north'], after: ['lab'] },
      { before: [], after: ['lab', 'north'] },
    ]);
  });

  it('refuses an unknown device (404), an empty change and too many tags (400), and other roles (403)', async () => {
    expect((await post('/api/v1/devices/no-such-device/tags', server.tokens.operator, { add: ['x'] })).status).toBe(404);
    const empty = await post(`/api/v1/devices/${deviceIds[2]}/tags`, server.tokens.operator, {});
    expect(empty.status).toBe(400);
    expect((await errorOf(empty)).message).toContain('name tags to add or remove');
    const many = Array.from({ length: 40 }, (_, i) => `t${i}`);
    expect((await post(`/api/v1/devices/${deviceIds[2]}/tags`, server.tokens.operator, { add: many })).status).toBe(200);
    const over = await post(`/api/v1/devices/${deviceIds[2]}/tags`, server.tokens.operator, { add: many.map((t) => `${t}b`) });
    expect(over.status).toBe(400);
    expect((await errorOf(over)).message).toContain('at most 64');
    expect((await post(`/api/v1/devices/${deviceIds[2]}/tags`, server.tokens.acme, { add: ['x'] })).status).toBe(403);
  });
});

describe('bad paging and roles', () => {
  const lists = ['/api/v1/builds', '/api/v1/packages', '/api/v1/devices', '/api/v1/deployments', '/api/v1/campaigns', '/api/v1/audit'];

  it.each(lists)('%s refuses a limit outside 1..500 or not a whole number (400)', async (path) => {
    for (const limit of ['0', '501', '-1', 'abc', '1.5', '']) {
      const res = await get(`${path}?limit=${limit}`, server.tokens.operator);
      expect(res.status, `limit=${limit}`).toBe(400);
      expect(await errorOf(res)).toMatchObject({ code: 'VALIDATION', message: 'query: limit must be a whole number from 1 to 500' });
    }
    expect((await get(`${path}?limit=500`, server.tokens.operator)).status).toBe(200);
  });

  it.each(lists)('%s refuses a tampered, foreign or oversized cursor with a 400, never a 500', async (path) => {
    const list = path.split('/').at(-1) ?? '';
    const foreign = encodeCursor(list === 'devices' ? 'builds' : 'devices', 'x');
    const hostile = [
      'not a cursor',
      '%00%01',
      Buffer.from('{"l":').toString('base64url'),
      Buffer.from('[1,2]').toString('base64url'),
      Buffer.from(JSON.stringify({ l: list, k: 5 })).toString('base64url'),
      Buffer.from(JSON.stringify({ l: list, k: 'x', extra: 1 })).toString('base64url'),
      foreign,
      'A'.repeat(10_000),
      `${encodeCursor(list, 'x')}'--`,
    ];
    for (const cursor of hostile) {
      const res = await get(`${path}?cursor=${encodeURIComponent(cursor)}`, server.tokens.operator);
      expect(res.status, cursor.slice(0, 40)).toBe(400);
      expect((await errorOf(res)).code).toBe('VALIDATION');
    }
    // An edited key is only another place in the list: SQL in it is a value, not SQL.
    const edited = await get(`${path}?cursor=${encodeCursor(list, "' OR 1=1 --")}`, server.tokens.operator);
    expect(edited.status).toBe(200);
  });

  it('keeps devices, deployments, campaigns and the audit log from manufacturers, and the audit log from nobody it should not', async () => {
    for (const path of ['/api/v1/devices', '/api/v1/deployments', '/api/v1/campaigns', '/api/v1/audit']) {
      const res = await get(path, server.tokens.acme);
      expect(res.status, path).toBe(403);
      expect(await errorOf(res)).toMatchObject({ code: 'FORBIDDEN' });
    }
    expect((await get('/api/v1/devices', 'fota_not-a-token')).status).toBe(401);
    expect((await server.api('/api/v1/builds')).status).toBe(401);
  });
});
